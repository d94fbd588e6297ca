#!/usr/bin/env node
// Started by `npm start` (scripts/start.mjs), detached: if the start command dies without stopping what it
// started (SIGKILL, an OOM kill, a closed terminal that took it with SIGKILL), this stops its processes so
// nothing is left holding Parley's ports and data directory. A normal stop ends this watchdog first.
// Usage: node scripts/start-watchdog.mjs <start-pid> <processes-file> <lock-file>
import { readFileSync, rmSync } from 'node:fs';

const [parent, processesFile, lockFile] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const poll = setInterval(async () => {
  if (alive(parent)) return;
  clearInterval(poll);
  let started = [];
  try {
    started = JSON.parse(readFileSync(processesFile, 'utf8'));
  } catch {
    // Nothing recorded: nothing to stop.
  }
  // Services first (they drain on SIGTERM), nats-server and prosody last, as the start command stops them.
  const order = [...started.filter((p) => !['nats-server', 'prosody'].includes(p.name)), ...started.filter((p) => ['nats-server', 'prosody'].includes(p.name))];
  for (const { pid } of order) {
    if (!alive(pid)) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      continue;
    }
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(processesFile, { force: true });
  rmSync(lockFile, { force: true });
  process.exit(0);
}, 500);
