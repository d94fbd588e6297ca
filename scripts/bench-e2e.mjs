#!/usr/bin/env node
// The whole stack under a conversational load over the v1 contract, beside raw JetStream on the same server.
// Scripted agents (with capacity) accept offers and echo every customer message; scripted customers subscribe,
// send numbered messages one at a time and wait for each echo, then leave and come back as new customers.
// Phase 1 finds saturation (as many customers as agents can hold, no pacing); phase 2 runs at half that message
// rate and measures latencies. Prints events/s and its ratio to raw JetStream, messages relayed/s, latencies,
// sessions/s and JetStream API requests per event, and the same topology with consumers that do nothing (bench:floor)
// on the same server: the most any service code could carry on this machine in this run.
// Usage: npm run bench:e2e [-- --agents 100 --capacity 2 --messages 10 --seconds 20 --latency-rate N]
// --latency-rate: customer messages per second in phase 2 instead of half of saturation, to compare latencies of
// two builds at the same load (each message is relayed twice: the customer's and the agent's echo).
// Sessions are --messages long on average (uniform from half to one and a half times it, seeded by --seed) and
// customers start spread over the first second, as customers come and go in a contact center; --lockstep gives
// every session exactly --messages and starts all customers at once, as this benchmark did before 2026-11-22:
// the customers then stay in phase and every session ends and starts again within a few hundred milliseconds,
// one burst of ~2,000 events every session length.
// --samples FILE: the latency phase's every relay as CSV (direction, ms since start, latency ms), to see whether a
// tail comes in bursts (a pause somewhere) or spread out (waiting for a core); and FILE.cpu.csv, every process's CPU
// seconds so far every 20 ms of that phase, to see who was busy when.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import {
  ENTRY,
  buildOnce,
  consumerDeliveries,
  done,
  durableAcks,
  jsApiTotal,
  libs,
  ms,
  onDeliveries,
  pct,
  rawCeiling,
  topologyFloor,
  registerCenter,
  serviceMetrics,
  stackCpu,
  startStack,
  status,
} from './bench-stack.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    capacity: { type: 'string', default: '2' },
    messages: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    'latency-rate': { type: 'string' },
    samples: { type: 'string' },
    seed: { type: 'string', default: '1' },
    lockstep: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const AGENTS = Number(values.agents);
const CAPACITY = Number(values.capacity);
const MESSAGES = Number(values.messages);
const LOCKSTEP = values.lockstep;
const sessionLength = () => (LOCKSTEP ? MESSAGES : Math.max(1, Math.round(MESSAGES * (0.5 + random()))));
const SECONDS = Number(values.seconds);

buildOnce(['analytics']);
const { seededRandom } = await import('@parley/analytics');
const random = seededRandom(Number(values.seed)); // the same session lengths in every run of a seed
const { jetstreamManager } = await libs();
const stack = await startStack({ env: { STATUS_INTERVAL_SECONDS: '30' } });
const { nc } = stack;
const jsm = await jetstreamManager(nc);
const head = async () => (await jsm.streams.info('PARLEY_EVENTS')).state.last_seq;
// The customers' event-loop delay (this thread's), measured as the services' is (Node's 10 ms sampling): it is
// where the agent -> customer times are taken, so a stall here is a tail in them too; the agents' thread reports
// its own.
const benchLoop = monitorEventLoopDelay({ resolution: 10 });
benchLoop.enable();

status('measuring the raw JetStream ceiling ...');
const rawCpuBefore = stackCpu(stack);
const RAW_MESSAGES = 20_000;
const raw = await rawCeiling(nc, { messages: RAW_MESSAGES });
const rawCpuAfter = stackCpu(stack);
// CPU per raw publish: nats-server and the publishing client, the only two doing work then.
const rawCpuMsPerPublish =
  ((rawCpuAfter['nats-server'] - rawCpuBefore['nats-server'] + rawCpuAfter['bench (customers and agents)'] - rawCpuBefore['bench (customers and agents)']) * 1000) / RAW_MESSAGES;
// The same topology with consumers that do nothing (bench:floor), on the same server: the most any service code could
// carry on this machine in this run.
status("measuring Parley's topology with consumers that do nothing ...");
const floor = await topologyFloor(nc, { natsPid: stack.nats.pid, natsUrl: stack.nats.url, durables: 3, tails: 2, deliveries: true });
done();
await registerCenter(stack, AGENTS, CAPACITY);

// Agents accept every offer and echo every customer line, on a thread of their own (bench-agents.worker.mjs);
// times are taken where each side sees the other's words, from the time the sender wrote into the line.
const clock = () => Number(process.hrtime.bigint()) / 1e6; // one monotonic clock for every thread
let measuring = false;
const c2a = [];
const a2c = [];
/** Every latency of the last phase with when it was seen (ms), for --samples. */
const samples = [];
/** With --samples, every process's CPU seconds so far, every 20 ms of the last phase, to see who was busy in a tail. */
const cpuTrace = [];
if (values.samples) setInterval(() => measuring && cpuTrace.push([clock(), stackCpu(stack)]), 20).unref();
let relayed = 0;
let agentErrors = 0;
const agents = new Worker(new URL('./bench-agents.worker.mjs', import.meta.url), { workerData: { url: stack.nats.url } });
agents.on('error', (err) => {
  process.stderr.write(`\n  agents' thread failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
/** Asks the agents' thread something and waits for its answer of the given type. */
const fromAgents = (type, command) =>
  new Promise((resolve) => {
    const answer = (m) => {
      if (m.type !== type) return;
      agents.off('message', answer);
      resolve(m);
    };
    agents.on('message', answer);
    if (command) agents.postMessage({ type: command });
  });
await fromAgents('ready');
let relayedByAgents = 0;
const agentsTicker = setInterval(async () => (relayedByAgents = (await fromAgents('relayed', 'relayed')).relayed), 1_000);

// Customers wait for their echoes on the channel's deliveries: `echo:<session>:<n>@<sent at>`.
const waiting = new Map(); // echo without its time -> resolve
const stopCustomers = await onDeliveries(nc, 'parley.v1.im.deliver.bench', (d) => {
  if (d.kind !== 'text') return;
  relayed++;
  const t = clock();
  const at = d.body.lastIndexOf('@');
  const key = d.body.slice(0, at);
  if (measuring) {
    a2c.push(t - Number(d.body.slice(at + 1)));
    samples.push(['a2c', t, t - Number(d.body.slice(at + 1))]);
  }
  waiting.get(key)?.();
  waiting.delete(key);
});

let customerSeq = 0;
let sessionsDone = 0;
let customerErrors = 0;
/** Paces sends to `rate` per second overall (Infinity: no pacing). */
function pacer(rate) {
  let nextAt = performance.now();
  return async () => {
    if (!Number.isFinite(rate)) return;
    const at = nextAt;
    nextAt = Math.max(nextAt, performance.now()) + 1000 / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };
}

async function customer(until, pace) {
  if (!LOCKSTEP) await new Promise((r) => setTimeout(r, random() * 1_000));
  while (performance.now() < until) {
    const from = `c${++customerSeq}@customers.example`;
    const length = sessionLength();
    try {
      const sub = await stack.request('parley.v1.im.subscribe', { channel: 'bench', from, to: ENTRY.address });
      if (sub.status !== 'available') throw new Error(`subscribe: ${sub.status} ${sub.reason ?? ''}`);
      for (let n = 1; n <= length && performance.now() < until + 30_000; n++) {
        await pace();
        const line = `${sub.sessionId}:${n}`;
        const echoed = new Promise((resolve, reject) => {
          waiting.set(`echo:${line}`, resolve);
          setTimeout(() => reject(new Error(`no echo of ${line}`)), 60_000).unref();
        });
        // The first message waits in the queue for an offer and an accept: it is not a relay latency, so it is sent
        // without a time.
        const body = n > 1 ? `${line}@${clock()}` : line;
        await stack.request('parley.v1.im.message', { channel: 'bench', from, to: sub.sessionAddress, messageId: `m${n}`, body });
        await echoed;
      }
      await stack.request('parley.v1.im.unsubscribe', { channel: 'bench', from, to: sub.sessionAddress });
      sessionsDone++;
    } catch (err) {
      customerErrors++;
      if (customerErrors <= 3) process.stderr.write(`\n  customer error: ${err.message}\n`);
    }
  }
}

const WARMUP_SECONDS = 5;

/** What a window is measured by, read at its start and at its end. */
const readings = async (at = performance.now()) => ({
  at,
  acks: await durableAcks(stack.nats),
  events: await head(),
  api: await jsApiTotal(stack.nats),
  cpu: stackCpu(stack),
  handed: await consumerDeliveries(stack.nats),
  services: await serviceMetrics(stack),
});

/**
 * Customers run for WARMUP_SECONDS + SECONDS; only the last SECONDS are measured (the first ones are the
 * initial burst of subscribes and offers, not the steady conversation).
 */
async function phase(label, customers, rate) {
  measuring = false;
  const started = performance.now();
  const until = started + (WARMUP_SECONDS + SECONDS) * 1000;
  const pace = pacer(rate);
  let window;
  const warm = setTimeout(async () => {
    c2a.length = 0;
    a2c.length = 0;
    samples.length = 0;
    cpuTrace.length = 0;
    relayed = 0;
    sessionsDone = 0;
    await fromAgents('window-started', 'start-window');
    measuring = true;
    benchLoop.reset();
    // Also resets the services' loop-delay histograms: what the end reads is the window's.
    window = await readings();
  }, WARMUP_SECONDS * 1000);
  const ticker = setInterval(
    () =>
      status(
        `${label}: ${Math.round((performance.now() - started) / 1000)}/${WARMUP_SECONDS + SECONDS} s (${WARMUP_SECONDS} s warm-up), ${relayed + relayedByAgents} messages relayed, ${sessionsDone} sessions`,
      ),
    1000,
  );
  let stopAt;
  const measuredEnd = new Promise(
    (r) =>
      (stopAt = setTimeout(
        async () => {
          measuring = false;
          const at = performance.now();
          const agentsWindow = await fromAgents('window', 'end-window');
          agentErrors = agentsWindow.errors;
          for (const [t, latency] of agentsWindow.seen) {
            c2a.push(latency);
            samples.push(['c2a', t, latency]);
          }
          const counts = { relayed: relayed + agentsWindow.relayed, sessionsDone };
          r({
            ...(await readings(at)),
            bench: { p99: Math.max(0, benchLoop.percentile(99) / 1e6 - 10), max: Math.max(0, benchLoop.max / 1e6 - 10) },
            agentsLoop: agentsWindow.loop,
            ...counts,
          });
        },
        (WARMUP_SECONDS + SECONDS) * 1000,
      )),
  );
  await Promise.all(Array.from({ length: customers }, () => customer(until, pace)));
  const end = await measuredEnd;
  clearTimeout(warm);
  clearTimeout(stopAt);
  clearInterval(ticker);
  done();
  measuring = false;
  const seconds = (end.at - window.at) / 1000;
  const events = end.events - window.events;
  const api = end.api - window.api;
  relayed = end.relayed;
  sessionsDone = end.sessionsDone;
  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  return {
    label,
    customers,
    seconds: Number(seconds.toFixed(1)),
    eventsPerSecond: Math.round(events / seconds),
    messagesPerSecond: Math.round(relayed / seconds),
    sessionsPerSecond: Number((sessionsDone / seconds).toFixed(1)),
    apiPerEvent: Number((api / Math.max(1, events)).toFixed(2)),
    acksPerEvent: Number(((end.acks - window.acks) / Math.max(1, events)).toFixed(2)),
    // CPU milliseconds each process spent per event written: what the machine's two cores are shared out on.
    cpuMsPerEvent: Object.fromEntries(Object.keys(end.cpu).map((k) => [k, Number((((end.cpu[k] - window.cpu[k]) * 1000) / Math.max(1, events)).toFixed(3))])),
    loopDelayMs: { ...Object.fromEntries(Object.entries(end.services).map(([k, v]) => [k, v.loop])), 'bench customers': end.bench, 'bench agents': end.agentsLoop },
    // Garbage collection per second of the window (ms/s), major and all kinds, and the heap in use at its end.
    gc: Object.fromEntries(
      Object.entries(end.services).map(([k, v]) => {
        const before = window.services[k]?.gc ?? {};
        const spent = (kind) => (((v.gc[kind] ?? 0) - (before[kind] ?? 0)) * 1000) / seconds;
        return [k, { majorMsPerS: spent('major'), allMsPerS: Object.keys(v.gc).reduce((a, kind) => a + spent(kind), 0), heapMB: v.heapMB }];
      }),
    ),
    // Messages nats-server handed each consumer per event written (a re-made tail starts counting again).
    handedPerEvent: Object.fromEntries(
      Object.entries(end.handed)
        .map(([k, v]) => [k, (v >= (window.handed[k] ?? 0) ? v - (window.handed[k] ?? 0) : v) / Math.max(1, events)])
        .filter(([, v]) => v > 0)
        .map(([k, v]) => [k, Number(v.toFixed(2))]),
    ),
    c2a: { p50: pct(sorted(c2a), 50), p99: pct(sorted(c2a), 99), n: c2a.length },
    a2c: { p50: pct(sorted(a2c), 50), p99: pct(sorted(a2c), 99), n: a2c.length },
  };
}

const saturation = await phase('saturation', AGENTS * CAPACITY, Infinity);
const LATENCY_RATE = values['latency-rate'] === undefined ? saturation.messagesPerSecond / 4 : Number(values['latency-rate']);
const half = await phase(values['latency-rate'] === undefined ? 'half of saturation' : `${LATENCY_RATE} customer messages/s`, AGENTS * CAPACITY, LATENCY_RATE);
clearInterval(agentsTicker);
agents.postMessage({ type: 'stop' });
stopCustomers();
// Each projection's checkpoint (written every CHECKPOINT_INTERVAL_MS): its size is serialized on the service's
// event loop each time.
const checkpointBytes = {};
{
  const { Kvm } = await import('@nats-io/kv');
  const kv = await new Kvm(nc).open('parley_projection_checkpoints');
  for await (const key of await kv.keys('*.*.manifest')) checkpointBytes[key.replace(/\.manifest$/, '')] = (await kv.get(key))?.json().bytes;
}
await stack.stop();

const ratio = saturation.eventsPerSecond / raw;
const lines = [
  '',
  `raw JetStream acked publishes (same server, same run): ${raw.toLocaleString('en')}/s`,
  `the same topology with consumers that do nothing (bench:floor; same server, same run): ${Math.round(floor.rate).toLocaleString('en')}/s -> ratio to raw ${(floor.rate / raw).toFixed(2)}`,
  `events written at saturation: ${saturation.eventsPerSecond.toLocaleString('en')}/s  -> ratio to raw ${ratio.toFixed(2)} (goal >= 0.5), ${(saturation.eventsPerSecond / floor.rate).toFixed(2)} of the topology's own ceiling`,
  `chat messages relayed at saturation: ${saturation.messagesPerSecond.toLocaleString('en')}/s; sessions ${saturation.sessionsPerSecond}/s`,
  `JetStream API requests per event written: ${saturation.apiPerEvent} at saturation, ${half.apiPerEvent} at half (goal <= 1.5)`,
  `acknowledgements sent by durable consumers per event written: ${saturation.acksPerEvent} at saturation, ${half.acksPerEvent} at half`,
  `at ${half.label} (${half.messagesPerSecond}/s relayed):`,
  `  customer -> agent p50 ${ms(half.c2a.p50)}, p99 ${ms(half.c2a.p99)} (n=${half.c2a.n})`,
  `  agent -> customer p50 ${ms(half.a2c.p50)}, p99 ${ms(half.a2c.p99)} (n=${half.a2c.n})  (goal p99 <= 25 ms)`,
  `CPU per event written at saturation (ms): ${Object.entries(saturation.cpuMsPerEvent)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}; total ${Object.values(saturation.cpuMsPerEvent)
    .reduce((a, b) => a + b, 0)
    .toFixed(3)} (a raw publish: ${rawCpuMsPerPublish.toFixed(3)})`,
  `event-loop delay (beyond Node's 10 ms sampling interval) at ${half.label}, p99/max (ms): ${Object.entries(half.loopDelayMs)
    .map(([k, v]) => `${k} ${ms(v.p99)}/${ms(v.max)}`)
    .join(', ')}`,
  `garbage collection at ${half.label}, major/all ms per s, heap MB at the end: ${Object.entries(half.gc)
    .map(([k, v]) => `${k} ${v.majorMsPerS.toFixed(1)}/${v.allMsPerS.toFixed(1)}, ${v.heapMB.toFixed(0)} MB`)
    .join('; ')}`,
  `projection checkpoints at the end (bytes): ${Object.entries(checkpointBytes)
    .map(([k, v]) => `${k} ${v?.toLocaleString('en')}`)
    .join(', ')}`,
  `messages handed to consumers per event written at saturation: ${Object.entries(saturation.handedPerEvent)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}; total ${Object.values(saturation.handedPerEvent)
    .reduce((a, b) => a + b, 0)
    .toFixed(2)}`,
  `errors: customers ${customerErrors}, agents ${agentErrors}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.samples) (await import('node:fs')).writeFileSync(values.samples, ['direction,at_ms,latency_ms', ...samples.map(([d, at, l]) => `${d},${at.toFixed(1)},${l.toFixed(2)}`)].join('\n') + '\n');
if (values.samples && cpuTrace.length) {
  const names = Object.keys(cpuTrace[0][1]);
  (await import('node:fs')).writeFileSync(
    `${values.samples}.cpu.csv`,
    [['at_ms', ...names.map((n) => `${n} cpu_s`)].join(','), ...cpuTrace.map(([at, cpu]) => [at.toFixed(1), ...names.map((n) => cpu[n].toFixed(2))].join(','))].join('\n') + '\n',
  );
}
if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify({ raw, rawCpuMsPerPublish, floor, ratio, saturation, half, customerErrors, agentErrors }, null, 2));
process.exit(0);
