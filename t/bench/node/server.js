// A plain Node.js receiver for DevOps work item deliveries (express + pg): the benchmark's typical alternative to the module.
'use strict';

const cluster = require('node:cluster');
const express = require('express');
const { Pool } = require('pg');
const { SQL, Refusal, deliveryParams } = require('./delivery');

const port = Number(process.env.BENCH_PORT || 8080);
const workers = Number(process.env.BENCH_WORKERS || 1);
const poolSize = Number(process.env.BENCH_POOL || 16);

// the function's outcome as the HTTP status DevOps gets
const STATUS = {
  created: 201, exists: 200, deleted: 200, absent: 200, ignored: 200,
  test: 200, unauthorized: 401, disabled: 403, forbidden: 403, not_found: 404,
};

function answer(res, status, doc) {
  res.status(status).json(doc);
}

function receiver(pool) {
  return async (req, res) => {
    let values;
    try {
      values = deliveryParams(req.body, req.rawBody, req.get('authorization'),
        req.params.ws, req.params.board);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      return answer(res, err.status, { status: 'refused', reason: err.message });
    }
    let row;
    try {
      ({ rows: [row] } = await pool.query({
        name: 'fluid_devops_deliver', text: SQL, values,
      }));
    } catch (err) {
      res.set('Retry-After', '5');
      return answer(res, 503, { status: 'unavailable', reason: err.message });
    }
    const doc = { status: row.status };
    if (row.card_id !== null) doc.card_id = Number(row.card_id);
    answer(res, STATUS[row.status] ?? 500, doc);
  };
}

function serve() {
  // PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD come from the caller
  const pool = new Pool({ max: poolSize });
  pool.on('error', (err) => console.error('idle client:', err.message));

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.post('/api/integrations/devops/:ws/:board',
    express.json({ limit: '4mb',
                   verify: (req, res, buf) => { req.rawBody = buf.toString('utf8'); } }),
    receiver(pool));
  app.use((err, req, res, next) => {
    answer(res, err.status || 500, { status: 'refused', reason: err.message });
  });
  app.listen(port, '127.0.0.1');
}

function primary() {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  });
}

if (workers > 1 && cluster.isPrimary) {
  primary();
} else {
  serve();
}
