'use strict';
// Runs named scenarios against one server and prints one JSON line per scenario:
// {"scenario", "ok", "result"} or {"scenario", "ok": false, "error"}. The Python side
// (tests/integration/test_node_clients.py) runs the same script against redis-server and
// lfdb-server and compares the lines. A scenario returns only what is deterministic on both
// servers (no ids of connections, no timestamps, no hash-table orders).
const assert = require('node:assert/strict');

const port = Number(process.argv[2]);
const only = process.argv.slice(3);
// Sanitized builds run several times slower: every wait is scaled (lfdb_testlib's SLOWDOWN).
const SLOWDOWN = Number(process.env.LFDB_SLOWDOWN || '1');
const SCENARIO_MS = 15000 * SLOWDOWN;

function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// Resolves when pred() holds, polling every 10 ms; rejects after ms.
async function until(pred, ms, what) {
  const deadline = Date.now() + ms * SLOWDOWN;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(scenarios) {
  let failed = 0;
  for (const [name, fn] of Object.entries(scenarios)) {
    if (only.length && !only.includes(name)) continue;
    const line = { scenario: name };
    try {
      line.result = await withTimeout(fn(port), SCENARIO_MS, name);
      line.ok = true;
    } catch (e) {
      line.ok = false;
      line.error = String(e && e.stack || e);
      failed++;
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  // Clients a failed scenario left open must not keep the process alive.
  process.exit(failed ? 1 : 0);
}

module.exports = { assert, port, SLOWDOWN, run, until, sleep, withTimeout };
