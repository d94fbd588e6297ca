#!/usr/bin/env node
// Start-up with a long history: fills a fresh nats-server with realistic sessions (1,000,000 events by default),
// then measures each service's time to ready twice: a first start that must build its projections from position 1
// (what every start did before checkpoints), and a restart that resumes from the checkpoint. Finally the whole
// stack is started cold (from checkpoints) and the time until it serves a first customer is measured.
// Usage: npm run bench:startup [-- --events 1000000]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CORE, ENTRY, buildOnce, done, libs, startStack, status } from './bench-stack.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, agents: { type: 'string', default: '200' }, json: { type: 'string' } } });
const EVENTS = Number(values.events);
const AGENTS = Number(values.agents);

buildOnce();
const { startNatsServer, launchService, connect, jetstream, jetstreamManager, AckPolicy, DeliverPolicy } = await libs();
const nats = await startNatsServer({ monitor: true });
const nc = await connect({ servers: nats.url });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);

// The event store's stream, as the services create it.
await jsm.streams.add({ name: 'PARLEY_EVENTS', subjects: ['parley.v1.evt.>'], storage: 'file', retention: 'limits', discard: 'old', duplicate_window: 120_000_000_000, allow_direct: true });

let written = 0;
let inFlight = [];
const started = performance.now();
const t0 = Date.parse('2026-10-01T08:00:00.000Z');
const iso = (ms) => new Date(t0 + ms).toISOString();
const FAR_FUTURE = '2036-01-01T00:00:00.000Z';
async function emit(aggregate, id, type, data, atMs) {
  const wire = { id: `bench-${written}`, type, schemaVersion: 1, aggregateId: id, data, metadata: { correlationId: `c-${id}`, causationId: `c-${id}`, at: iso(atMs), actor: 'bench' } };
  inFlight.push(js.publish(`parley.v1.evt.${aggregate}.${id}`, JSON.stringify(wire)));
  written++;
  if (inFlight.length >= 2_000) {
    await Promise.all(inFlight);
    inFlight = [];
    const s = (performance.now() - started) / 1000;
    status(
      `writing history: ${written.toLocaleString('en')}/${EVENTS.toLocaleString('en')} events, ${Math.round(written / s).toLocaleString('en')}/s, ETA ${Math.round((EVENTS - written) / (written / s))} s`,
    );
  }
}

const profile = (i) => ({ displayName: `Agent ${i}`, kind: 'human', skills: { general: 3 }, languages: ['en'], capacity: 3, capabilities: [], queues: null, wrapUpSeconds: 0 });
await emit(
  'entrypoint',
  ENTRY.entryPointId,
  'EntryPointRegistered',
  { address: ENTRY.address, queueId: ENTRY.queueId, displayName: null, flowId: null, leaseSeconds: 3_600_000, expiresAt: FAR_FUTURE, at: iso(0) },
  0,
);
for (let a = 0; a < AGENTS; a++) await emit('agent', `agent-${a}`, 'AgentLoggedIn', { profile: profile(a), leaseSeconds: 3_600_000, expiresAt: FAR_FUTURE, at: iso(0) }, 0);
let s = 0;
let clock = 1_000;
const LIVE = 500; // the last sessions stay waiting, as a busy contact center would have them
while (written < EVENTS - 20) {
  const id = `bench${String(s).padStart(9, '0')}`;
  const agentId = `agent-${s % AGENTS}`;
  const core = {
    sessionId: id,
    entryPointId: ENTRY.entryPointId,
    channel: 'web',
    customerAddress: `${id}@customers.example`,
    sessionAddress: `s-${id}@bench.example`,
    client: null,
    locale: 'en',
    customerId: null,
    openedAt: iso(clock),
  };
  await emit('session', id, 'SessionOpened', core, clock);
  await emit('session', id, 'SessionQueued', { queueId: ENTRY.queueId, priority: 0, arrivedAt: iso(clock), requirements: { skills: {}, language: null, capabilities: [] }, notBefore: null }, clock);
  if (EVENTS - written < LIVE * 3) {
    s++;
    clock += 100;
    continue;
  }
  const offerId = `o${s}`;
  await emit('agent', agentId, 'AgentOfferReserved', { offerId, sessionId: id, expiresAt: iso(clock + 30_000) }, clock + 5_000);
  await emit('session', id, 'SessionOffered', { offerId, agentId, expiresAt: iso(clock + 30_000), at: iso(clock + 5_000) }, clock + 5_000);
  await emit('session', id, 'SessionAssigned', { offerId, agentId, at: iso(clock + 8_000), agentName: `Agent ${s % AGENTS}` }, clock + 8_000);
  await emit('agent', agentId, 'AgentConversationStarted', { sessionId: id, offerId }, clock + 8_000);
  for (let m = 0; m < 3; m++) {
    await emit('session', id, 'CustomerMessageReceived', { messageId: `m${m}`, body: 'Hello, I have a question about my invoice.', at: iso(clock + 10_000 + m * 20_000) }, clock + 10_000 + m * 20_000);
    await emit('session', id, 'AgentMessageSent', { messageId: `a${m}`, agentId, body: 'Sure, let me look that up for you.', at: iso(clock + 20_000 + m * 20_000) }, clock + 20_000 + m * 20_000);
  }
  await emit('session', id, 'SessionEnded', { endedBy: 'agent', reason: 'agent-ended', disposition: 'solved', abandoned: false, agentId, at: iso(clock + 80_000) }, clock + 80_000);
  await emit('agent', agentId, 'AgentConversationEnded', { sessionId: id, at: iso(clock + 80_000), wrapUpUntil: null }, clock + 80_000);
  s++;
  clock += 1_000;
}
await Promise.all(inFlight);
done();
const head = (await jsm.streams.info('PARLEY_EVENTS')).state.last_seq;
process.stdout.write(`history: ${head.toLocaleString('en')} events, ${s.toLocaleString('en')} sessions, written in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);

// The durable consumers have handled this history already (as in a contact center that ran for a month).
const durables = { 'buffer-deliveries': 'session', 'router-session-followups': 'session', 'router-agent-followups': 'agent', 'presence-proxy-intake': 'session' };
for (const [name, aggregate] of Object.entries(durables)) {
  await jsm.consumers.add('PARLEY_EVENTS', {
    durable_name: name,
    filter_subject: `parley.v1.evt.${aggregate}.>`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: head + 1,
    max_ack_pending: 256,
    max_deliver: -1,
  });
}
await nc.close();

const logDir = mkdtempSync(join(tmpdir(), 'parley-bench-startup-'));
const env = { NATS_URL: nats.url, LOG_LEVEL: 'warn' };
async function timeToReady(name, label) {
  const handle = await launchService(name, env, logDir, `${name}-${label}`);
  const t = performance.now();
  await handle.start();
  const ms = performance.now() - t;
  await handle.stop();
  return ms;
}
const rows = [];
for (const name of CORE) {
  status(`${name}: first start (projections from position 1) ...`);
  const first = await timeToReady(name, 'first');
  status(`${name}: restart (from the checkpoint) ...`);
  const again = await timeToReady(name, 'again');
  rows.push({ name, first, again });
}
done();

status('whole stack, cold, from checkpoints ...');
const coldStart = performance.now();
const stack = await startStack({ nats, logDir });
const sub = await stack.request('parley.v1.im.subscribe', { channel: 'web', from: 'first@customers.example', to: ENTRY.address });
if (sub.status !== 'available') throw new Error(`the first customer was answered ${JSON.stringify(sub)}`);
await stack.request('parley.v1.im.message', { channel: 'web', from: 'first@customers.example', to: sub.sessionAddress, messageId: 'hello', body: 'hello' });
const firstCustomerMs = performance.now() - coldStart;
done();
await stack.stop();
await nats.stop();

const fmt = (x) => `${(x / 1000).toFixed(1)} s`;
process.stdout.write(
  [
    '',
    `| service | first start (rebuild from 1) | restart (from checkpoint) |`,
    `| --- | --- | --- |`,
    ...rows.map((r) => `| ${r.name} | ${fmt(r.first)} | ${fmt(r.again)} |`),
    '',
    `whole stack cold from checkpoints, first customer subscribed and their first message accepted: ${fmt(firstCustomerMs)} (goal <= 10 s; every service <= 5 s)`,
    '',
  ].join('\n'),
);
if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify({ events: head, sessions: s, rows, firstCustomerMs }, null, 2));
process.exit(0);
