-- wrk script: POSTs the created-task sample with a new work item id per request and counts the answers by status code.
-- arguments after --: sample file, id base of this run, Authorization header value

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local prefix, suffix, headers
local base, n = 0, 0

-- read the sample and split it around the work item id
local function load_sample(path)
   local f = assert(io.open(path, "rb"))
   local body = f:read("*a")
   f:close()
   local s, e = body:find('"id": 1042', 1, true)
   assert(s, 'the sample has no "id": 1042')
   return body:sub(1, s - 1) .. '"id": ', body:sub(e + 1)
end

function init(args)
   prefix, suffix = load_sample(args[1])
   base = tonumber(args[2]) + tid * 100000000
   headers = {
      ["Authorization"] = args[3],
      ["Content-Type"] = "application/json; charset=utf-8",
   }
   codes = {}
end

function request()
   n = n + 1
   local body = prefix .. string.format("%d", base + n) .. suffix
   return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
   codes[status] = (codes[status] or 0) + 1
end

-- one tab-separated line: duration, 2xx, other, socket errors, p50, p99 (us), codes
function done(summary, latency, requests)
   local all, ok, other, list = {}, 0, 0, {}
   for _, t in ipairs(threads) do
      for status, count in pairs(t:get("codes")) do
         all[status] = (all[status] or 0) + count
      end
   end
   for status, count in pairs(all) do
      if status >= 200 and status < 300 then
         ok = ok + count
      else
         other = other + count
      end
      table.insert(list, string.format("%d:%d", status, count))
   end
   table.sort(list)
   local e = summary.errors
   io.write(string.format("BENCH\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n",
      summary.duration, ok, other, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99),
      #list > 0 and table.concat(list, ",") or "-"))
end
