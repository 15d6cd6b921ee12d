// Prints the module's 17 statement parameters for a sample delivery as pgbench -D name=value items, NUL-separated.
'use strict';

const fs = require('node:fs');
const { deliveryParams } = require('./delivery');

const NAMES = [
  'token_hash', 'username', 'workspace_id', 'board_id', 'event', 'is_test',
  'work_item_id', 'work_item_type', 'title', 'description', 'state',
  'priority', 'assigned_to', 'tags', 'project', 'url', 'body',
];

const [sample, user, token, workspace, board] = process.argv.slice(2);
const raw = fs.readFileSync(sample, 'utf8');
const body = JSON.parse(raw);
const auth = 'Basic ' + Buffer.from(`${user}:${token}`).toString('base64');
const values = deliveryParams(body, raw, auth, workspace, board);

values.forEach((v, i) => {
  if (v === null) throw new Error(`parameter ${NAMES[i]} is null`);
  // pgbench sends text: bytea in hex form; the id is made per transaction
  if (NAMES[i] === 'work_item_id') return;
  const value = Buffer.isBuffer(v) ? '\\x' + v.toString('hex') : v;
  process.stdout.write(`${NAMES[i]}=${value}\0`);
});
