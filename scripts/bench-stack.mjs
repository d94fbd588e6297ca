// Shared by the end-to-end benchmarks: a fresh loopback nats-server, the five core services as their own built
// processes, the raw JetStream ceiling measured on the same server, and scripted customers and agents over the v1
// contract (plain NATS requests and the deliveries stream, as any integrator would use them).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianProgram, ensureDependencies, nxEnv, run } from './prerequisites.mjs';

export const CORE = ['registration', 'presence-proxy', 'buffer', 'router', 'reporting'];

export function buildOnce(extraProjects = []) {
  ensureDependencies();
  ensureDebianProgram('nats-server');
  if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', 'testing', ...CORE, ...extraProjects, '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);
}

export async function libs() {
  const { jetstream, jetstreamManager, DeliverPolicy, AckPolicy } = await import('@nats-io/jetstream');
  const { connect } = await import('@nats-io/transport-node');
  const testing = await import('@parley/testing');
  return { jetstream, jetstreamManager, DeliverPolicy, AckPolicy, connect, ...testing };
}

export const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
export const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(x < 10 ? 2 : 0)} ms` : 'n/a');
export const status = (line) => process.stderr.write(`\r\x1b[K  ${line}`);
export const done = () => process.stderr.write('\n');

/** JetStream API requests served so far (nats-server monitoring `/jsz`). */
export async function jsApiTotal(nats) {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/jsz`);
  const body = await res.json();
  return body.api?.total ?? 0;
}

/**
 * Messages each JetStream consumer has been handed so far, by stream and consumer (`/jsz`): what nats-server
 * delivers for every event written. Ephemeral consumers (ordered tails) are named by their filter, as their names
 * change when they are re-made.
 */
export async function consumerDeliveries(nats) {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/jsz?accounts=true&streams=true&consumers=true&config=true`);
  const body = await res.json();
  const out = {};
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) {
      for (const c of stream.consumer_detail ?? []) {
        const key = `${stream.name} ${c.config?.durable_name ?? `(tail) ${c.config?.filter_subject ?? '>'}`}`;
        out[key] = (out[key] ?? 0) + (c.delivered?.consumer_seq ?? 0);
      }
    }
  }
  return out;
}

/**
 * Acknowledgements the durable consumers have sent so far, as nats-server counts them (the ack floors in `/jsz`):
 * read from the server rather than by subscribing to `$JS.ACK.>`, whose copy of every acknowledgement would cost
 * nats-server and this process a message each and sit in the path the benchmark measures.
 */
export async function durableAcks(nats) {
  const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/jsz?accounts=true&streams=true&consumers=true&config=true`);
  const body = await res.json();
  let acked = 0;
  for (const account of body.account_details ?? []) {
    for (const stream of account.stream_detail ?? []) {
      for (const c of stream.consumer_detail ?? []) if (c.config?.durable_name) acked += c.ack_floor?.consumer_seq ?? 0;
    }
  }
  return acked;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux), or NaN when it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return NaN;
  }
}

/** CPU seconds of every process of the stack and of this one, by name: read before and after a window. */
export function stackCpu(stack) {
  const out = { 'nats-server': cpuSeconds(stack.nats.pid), 'bench (customers and agents)': process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 };
  for (const [name, h] of stack.handles) out[name] = cpuSeconds(h.pid);
  return out;
}

const LOOP_SAMPLE_MS = 10;

/**
 * One scrape of each service's `/metrics`: its event-loop delay since the previous scrape (prom-client resets that
 * histogram at each scrape), p99 and max in ms, a long stall on the message path being a long tail in the relay
 * latency; its heap in use (MB); and the time its garbage collector has taken so far (s) by kind (major, minor,
 * incremental, weakcb), to difference over a window. One scrape, as a second would reset the loop's histogram.
 */
export async function serviceMetrics(stack) {
  const out = {};
  for (const [name, h] of stack.handles) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${h.httpPort}/metrics`)).text();
      const value = (metric) => Number(text.match(new RegExp(`^${metric} ([0-9.e+-]+)`, 'm'))?.[1] ?? NaN);
      // Node samples the loop every 10 ms (prom-client's default precision) and records the whole interval: what
      // is beyond it is the delay.
      const delay = (metric) => Math.max(0, value(metric) * 1000 - LOOP_SAMPLE_MS);
      const gc = {};
      for (const m of text.matchAll(/^parley_nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} ([0-9.e+-]+)/gm)) gc[m[1]] = Number(m[2]);
      out[name] = {
        loop: { p99: delay('parley_nodejs_eventloop_lag_p99_seconds'), max: delay('parley_nodejs_eventloop_lag_max_seconds') },
        heapMB: value('parley_nodejs_heap_size_used_bytes') / 1e6,
        gc,
      };
    } catch {
      out[name] = { loop: { p99: NaN, max: NaN }, heapMB: NaN, gc: {} };
    }
  }
  return out;
}

/** Acked publishes per second straight to JetStream, `inflight` at a time over `subjects` subjects: the ceiling. */
export async function rawCeiling(nc, { messages = 20_000, inflight = 1_000, subjects = 1_000, bytes = 400 } = {}) {
  const { jetstream, jetstreamManager } = await libs();
  const jsm = await jetstreamManager(nc);
  const name = `BENCH_RAW_${Date.now()}`;
  await jsm.streams.add({ name, subjects: [`bench.${name}.>`], storage: 'file' });
  const js = jetstream(nc);
  const body = 'x'.repeat(bytes);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < messages) {
        const i = next++;
        await js.publish(`bench.${name}.${i % subjects}`, body, { msgID: `${name}-${i}` });
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await jsm.streams.delete(name);
  return Math.round(messages / seconds);
}

/** As Parley's durables (CONSUMER_MAX_IN_FLIGHT): messages in hand at once, and at most that many a pull. */
export const FLOOR_MAX_ACK_PENDING = 256;

/**
 * Parley's event topologies with consumers that do nothing (bench:floor): `durables` durable consumers acknowledging
 * each message, `tails` ordered consumers, and with `deliveries` a delivery stored by the first durable for four
 * messages of five before it acknowledges, taken by one more tail. Acked publishes as rawCeiling's, on a fresh stream;
 * an event counts once every consumer has taken it. Returns events/s, the publish rate and CPU per event (nats-server
 * and this process, whose threads the consumers are) in ms.
 */
export async function topologyFloor(nc, { natsPid, natsUrl, durables, tails, deliveries = false, messages = 20_000, inflight = 1_000, subjects = 1_000, bytes = 400 }) {
  const { Worker } = await import('node:worker_threads');
  const { jetstream, jetstreamManager } = await libs();
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const body = 'x'.repeat(bytes);
  const cpu = () => cpuSeconds(natsPid) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
  const stream = `FLOOR_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await jsm.streams.add({ name: stream, subjects: [`floor.${stream}.>`], storage: 'file' });
  const deliverTo = deliveries ? `floor-deliveries.${stream}` : undefined;
  if (deliverTo) await jsm.streams.add({ name: `${stream}_D`, subjects: [`${deliverTo}.>`], storage: 'file' });
  const workers = [
    ...Array.from({ length: durables }, (_, i) => ({ kind: 'durable', name: `durable-${i}`, messages, deliverTo: i === 0 ? deliverTo : undefined })),
    ...Array.from({ length: tails }, (_, i) => ({ kind: 'tail', name: `tail-${i}`, messages })),
    // The customers' and agents' side: every delivery taken from the deliveries stream.
    ...(deliverTo ? [{ kind: 'tail', name: 'deliveries', messages: messages - Math.floor(messages / 5), deliverTo }] : []),
  ].map((w) => {
    const worker = new Worker(new URL('./bench-floor.worker.mjs', import.meta.url), { workerData: { url: natsUrl, stream, ...w } });
    const ready = new Promise((resolve, reject) => {
      worker.on('message', (m) => m.ready && resolve());
      worker.once('error', reject);
    });
    const finished = new Promise((resolve, reject) => {
      worker.on('message', (m) => m.done && resolve());
      worker.once('error', reject);
    });
    return { ready, finished };
  });
  await Promise.all(workers.map((w) => w.ready));
  const cpuBefore = cpu();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < messages) {
        const i = next++;
        await js.publish(`floor.${stream}.${i % subjects}`, body, { msgID: `${stream}-${i}` });
      }
    }),
  );
  const published = performance.now();
  await Promise.all(workers.map((w) => w.finished));
  const ended = performance.now();
  const cpuMs = ((cpu() - cpuBefore) * 1000) / messages;
  await jsm.streams.delete(stream);
  if (deliverTo) await jsm.streams.delete(`${stream}_D`);
  return { rate: messages / ((ended - started) / 1000), publishRate: messages / ((published - started) / 1000), cpuMs };
}

export async function startStack({ env = {}, logDir = mkdtempSync(join(tmpdir(), 'parley-bench-')), services = CORE, nats: given } = {}) {
  const { startNatsServer, launchService, connect } = await libs();
  const nats = given ?? (await startNatsServer({ monitor: true }));
  const common = { NATS_URL: nats.url, LOG_LEVEL: 'warn', ...env };
  const handles = new Map();
  for (const name of services) handles.set(name, await launchService(name, common, logDir));
  if (handles.has('registration')) await handles.get('registration').start();
  await Promise.all([...handles.entries()].filter(([n]) => n !== 'registration').map(([, h]) => h.start()));
  const nc = await connect({ servers: nats.url, name: 'bench' });
  return {
    nats,
    nc,
    handles,
    logDir,
    async request(subject, payload, timeout = 10_000) {
      const reply = (await nc.request(subject, JSON.stringify(payload), { timeout })).json();
      if (reply?.error) throw Object.assign(new Error(`${subject}: ${reply.error.code}: ${reply.error.message}`), { code: reply.error.code });
      return reply;
    },
    async stop() {
      await nc.close().catch(() => undefined);
      await Promise.all([...handles.values()].map((h) => h.stop()));
      if (!given) await nats.stop();
    },
  };
}

/** Every delivery on a subject of PARLEY_DELIVERIES from now on, to a callback with its subject (an ordered consumer: no state kept). */
export async function onDeliveries(nc, subject, callback) {
  const { jetstream, DeliverPolicy } = await libs();
  const consumer = await jetstream(nc).consumers.get('PARLEY_DELIVERIES', { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume({ max_messages: 5_000 });
  void (async () => {
    for await (const m of messages) callback(m.json(), m.subject);
  })();
  return () => messages.stop();
}

export const ENTRY = { entryPointId: 'bench-ep', address: 'support@bench.example', queueId: 'bench', leaseSeconds: 3_600 };

export async function registerCenter(stack, agents, capacity) {
  await stack.request('parley.v1.registration.register', ENTRY);
  for (let i = 0; i < agents; i++) {
    await stack.request('parley.v1.agent.login', { agentId: `agent-${i}`, displayName: `Agent ${i}`, kind: 'human', skills: {}, languages: ['en'], capabilities: [], capacity, leaseSeconds: 3_600 });
  }
}
