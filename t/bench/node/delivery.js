// Turns one DevOps work item delivery into the 17 parameters of fluid.devops_deliver, the way the module reads it.
'use strict';

const crypto = require('node:crypto');

// the module's statement, character for character
const SQL = 'SELECT status, card_id, detail FROM fluid.devops_deliver(' +
  '$1::bytea, $2::text, $3::bigint, $4::bigint, $5::text, $6::boolean, ' +
  '$7::bigint, $8::text, $9::text, $10::text, $11::text, $12::integer, ' +
  '$13::text, $14::text, $15::text, $16::text, $17::text)';

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const TEST_HOST = '//fabrikam-fiber-inc.visualstudio.com/';

class Refusal extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

// { user, token } from a Basic Authorization header, or null
function credentials(header) {
  const m = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header || '');
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 1 || colon === text.length - 1) return null;
  return { user: text.slice(0, colon), token: text.slice(colon + 1) };
}

function tokenHash(token) {
  return crypto.createHash('sha256').update(token, 'utf8').digest();
}

// a positive decimal id as a string, or null
function positiveId(text) {
  return /^[0-9]{1,19}$/.test(text) && BigInt(text) > 0n &&
    BigInt(text) <= 9223372036854775807n ? BigInt(text).toString() : null;
}

function text(obj, key) {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new Refusal(400, `"${key}" is not a string`);
  return v;
}

// "Display Name <address>" or an identity object, as the display name
function identity(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') return v.displayName ?? v.uniqueName ?? null;
  if (typeof v !== 'string') throw new Refusal(400, 'identity is not a string');
  const lt = v.endsWith('>') ? v.lastIndexOf('<') : -1;
  return lt > 0 ? v.slice(0, lt).trimEnd() : v;
}

function priority(v) {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new Refusal(400, 'priority is not a 32-bit integer');
  }
  return String(v);
}

function isTestUrl(url) {
  return typeof url === 'string' && url.includes(TEST_HOST);
}

function eventName(type) {
  if (type === 'workitem.created') return 'created';
  if (type === 'workitem.deleted') return 'deleted';
  return 'other';
}

// the work item's values, as the module's payload parser takes them
function workItem(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Refusal(400, 'the body is not a JSON object');
  }
  if (typeof body.eventType !== 'string' || body.eventType === '') {
    throw new Refusal(400, '"eventType" is missing');
  }
  const event = eventName(body.eventType);
  const r = body.resource;
  if (r === undefined || r === null || typeof r !== 'object') {
    throw new Refusal(event === 'created' ? 422 : 400, '"resource" is missing');
  }
  if (!Number.isInteger(r.id) || r.id <= 0) {
    throw new Refusal(400, '"resource.id" is not a positive integer');
  }
  const url = r._links?.html?.href ?? text(r, 'url');
  const f = r.fields ?? null;
  if (event === 'created' && f === null) {
    throw new Refusal(422, '"resource.fields" is missing');
  }
  const item = {
    event, id: String(r.id), url,
    test: body.subscriptionId === ZERO_GUID || isTestUrl(url) ||
      isTestUrl(r.url),
    fields: f,
  };
  if (f !== null && event !== 'created' && event !== 'deleted') return item;
  const v = f || {};
  Object.assign(item, {
    type: text(v, 'System.WorkItemType'), title: text(v, 'System.Title'),
    description: text(v, 'System.Description'), state: text(v, 'System.State'),
    tags: text(v, 'System.Tags'), project: text(v, 'System.TeamProject'),
    assignedTo: identity(v['System.AssignedTo']),
    priority: priority(v['Microsoft.VSTS.Common.Priority']),
  });
  if (event === 'created' && (!item.title || !item.type)) {
    throw new Refusal(422, 'the title or the work item type is missing');
  }
  return item;
}

// the statement's parameters for one delivery, the body both parsed and as
// sent (the function takes resource.fields from the latter); throws a Refusal
function deliveryParams(body, raw, authorization, workspace, board) {
  const who = credentials(authorization);
  if (!who) throw new Refusal(401, 'no valid Basic credentials');
  const ws = positiveId(workspace);
  const bd = positiveId(board);
  if (!ws || !bd) throw new Refusal(404, 'no such board');
  const w = workItem(body);
  const keep = w.fields && w.event === 'created' && !w.test;
  return [
    tokenHash(who.token), who.user, ws, bd, w.event, w.test ? 't' : 'f',
    w.id, w.type ?? null, w.title ?? null, w.description ?? null,
    w.state ?? null, w.priority ?? null, w.assignedTo ?? null,
    w.tags ?? null, w.project ?? null, w.url ?? null,
    keep ? raw : null,
  ];
}

module.exports = { SQL, Refusal, deliveryParams };
