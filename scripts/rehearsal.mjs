#!/usr/bin/env node
// The high-availability rehearsal of issue 12: a three-node nats-server cluster on loopback with Parley's streams
// at three replicas, two instances of every service and gateway, a steady conversation over the v1 contract, and
// during it a NATS node killed and brought back, the whole cluster restarted, every service rolled one instance at a
// time (SIGTERM) and one instance of each killed (SIGKILL). Progress on stderr, figures on stdout; exits 1 when an
// acknowledged message is lost or duplicated, a session is assigned twice, an agent goes over capacity, an instance
// is not ready at the end or a gap misses its target. The driver is libs/testing/src/ha-rehearsal.ts (the e2e suite
// e2e/src/ha-rehearsal.e2e.test.ts runs a shorter version of it).
// Usage: npm run rehearsal [-- --agents 8 --capacity 2 --messages 4 --json figures.json]
import { parseArgs } from 'node:util';
import { ensureDebianProgram, ensureDependencies, nxEnv, run } from './prerequisites.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '8' },
    capacity: { type: 'string', default: '2' },
    messages: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});

ensureDependencies();
ensureDebianProgram('nats-server');
const services = ['testing', 'registration', 'presence-proxy', 'buffer', 'router', 'reporting', 'gateway-web', 'gateway-xmpp'];
if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', ...services, '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);

const { runHaRehearsal, formatRehearsalFigures } = await import('@parley/testing');
const figures = await runHaRehearsal({
  agents: Number(values.agents),
  capacity: Number(values.capacity),
  messagesPerSession: Number(values.messages),
  log: (line) => process.stderr.write(`  ${line}\n`),
});
process.stdout.write(formatRehearsalFigures(figures));
if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify(figures, null, 2));
const m = [figures.customerMessages, figures.agentMessages];
const failed =
  m.some((x) => x.lost > 0 || x.duplicated > 0) ||
  figures.stalls.length + figures.doubleAssignments.length + figures.doubleHolds.length + figures.overCapacity.length + figures.notReadyAtEnd.length > 0 ||
  figures.faults.some((f) => f.targetMs !== undefined && Math.max(f.offerGapMs, f.deliveryGapMs) >= f.targetMs);
process.exit(failed ? 1 : 0);
