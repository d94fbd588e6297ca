#!/usr/bin/env node
// The most events per second Parley's event topology can carry on this machine whatever its services do: the same
// acked publishes as the raw ceiling, each followed by consumers that do nothing but take it (and acknowledge it,
// for a durable one), every consumer on a thread of its own as every service is a process of its own. Measured in
// one run on one fresh nats-server, one configuration after the other, each on a fresh stream:
//   raw                      acked publishes, no consumer (bench:e2e's "raw JetStream ceiling")
//   1 durable                + one durable consumer, an explicit acknowledgement per message
//   3 durables               + three (Parley: 2.8 durable deliveries per event, buffer, router, presence-proxy)
//   3 durables, 2 tails      + two ordered tails without acknowledgement (Parley: the router's and reporting's views)
//   …, and deliveries        + a delivery stored for four events of five by the first durable before it
//                              acknowledges (buffer: 0.8 per event), taken by one more tail (customers and agents)
// An event counts once every consumer has taken it. The ratio of the last row to the first is what Parley would reach
// with services that cost nothing; issue 10 asks for 0.5 with the services doing their work.
// Usage: npm run bench:floor [-- --messages 20000 --runs 2]
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildOnce, cpuSeconds, done, libs, status } from './bench-stack.mjs';

const BYTES = 400;
const INFLIGHT = 1_000;
const SUBJECTS = 1_000;
// As Parley's durables (CONSUMER_MAX_IN_FLIGHT) and their pulls (at most 512 a pull).
const MAX_ACK_PENDING = 256;

if (!isMainThread) {
  const { connect, jetstream, jetstreamManager, AckPolicy } = await libs();
  const { url, stream, kind, name, messages, deliverTo } = workerData;
  const nc = await connect({ servers: url, name: `floor-${name}` });
  const js = jetstream(nc);
  let taken = 0;
  if (kind === 'durable') {
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, max_ack_pending: MAX_ACK_PENDING, ack_wait: 5_000_000_000 });
    const consumer = await js.consumers.get(stream, name);
    parentPort.postMessage({ ready: true });
    // Bounded pulls one after the other, as Parley's durables take them; the last one is left as soon as every
    // message is in (waiting for its expiry would be counted as time the consumer took).
    while (taken < messages) {
      for await (const m of await consumer.fetch({ max_messages: MAX_ACK_PENDING, expires: 2_000 })) {
        // As buffer does for a chat message: a delivery stored (acked) before the event is acknowledged.
        if (deliverTo && m.seq % 5 !== 0) {
          js.publish(`${deliverTo}.${m.subject}`, m.data, { msgID: `d-${m.seq}` }).then(
            () => m.ack(),
            () => m.nak(),
          );
        } else m.ack();
        if (++taken === messages) break;
      }
    }
  } else {
    const consumer = await js.consumers.get(deliverTo ? `${stream}_D` : stream);
    const iter = await consumer.consume({ max_messages: 2_000, expires: 4_000 });
    parentPort.postMessage({ ready: true });
    for await (const _m of iter) if (++taken === messages) break;
  }
  await nc.flush();
  parentPort.postMessage({ done: true });
  await nc.close();
  process.exit(0);
}

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, runs: { type: 'string', default: '2' } } });
const N = Number(values.messages);
const RUNS = Number(values.runs);
const CONFIGS = [
  { label: 'raw (no consumer)', durables: 0, tails: 0 },
  { label: '1 durable', durables: 1, tails: 0 },
  { label: '3 durables', durables: 3, tails: 0 },
  { label: '3 durables, 2 tails', durables: 3, tails: 2 },
  { label: '…, and deliveries', durables: 3, tails: 2, deliveries: true },
];

buildOnce();
const { startNatsServer, connect, jetstream, jetstreamManager } = await libs();
const nats = await startNatsServer();
const nc = await connect({ servers: nats.url, name: 'bench-floor' });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const body = 'x'.repeat(BYTES);
const cpu = () => cpuSeconds(nats.pid) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;

let streams = 0;
async function measure(config) {
  const stream = `FLOOR_${++streams}`;
  await jsm.streams.add({ name: stream, subjects: [`floor.${stream}.>`], storage: 'file' });
  const deliverTo = config.deliveries ? `floor-deliveries.${stream}` : undefined;
  if (deliverTo) await jsm.streams.add({ name: `${stream}_D`, subjects: [`${deliverTo}.>`], storage: 'file' });
  const deliveries = N - Math.floor(N / 5);
  const workers = [
    ...Array.from({ length: config.durables }, (_, i) => ({ kind: 'durable', name: `durable-${i}`, messages: N, deliverTo: i === 0 ? deliverTo : undefined })),
    ...Array.from({ length: config.tails }, (_, i) => ({ kind: 'tail', name: `tail-${i}`, messages: N })),
    // The customers' and agents' side: every delivery taken from the deliveries stream.
    ...(deliverTo ? [{ kind: 'tail', name: 'deliveries', messages: deliveries, deliverTo }] : []),
  ].map((w) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { url: nats.url, stream, ...w } });
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
    Array.from({ length: INFLIGHT }, async () => {
      while (next < N) {
        const i = next++;
        await js.publish(`floor.${stream}.${i % SUBJECTS}`, body, { msgID: `${stream}-${i}` });
      }
    }),
  );
  const published = performance.now();
  await Promise.all(workers.map((w) => w.finished));
  const ended = performance.now();
  const cpuMs = ((cpu() - cpuBefore) * 1000) / N;
  await jsm.streams.delete(stream);
  if (deliverTo) await jsm.streams.delete(`${stream}_D`);
  return { ...config, rate: N / ((ended - started) / 1000), publishRate: N / ((published - started) / 1000), cpuMs };
}

const results = [];
for (let run = 1; run <= RUNS; run++) {
  for (const config of CONFIGS) {
    status(`run ${run} of ${RUNS}: ${config.label} ...`);
    results.push({ run, ...(await measure(config)) });
  }
}
done();
await nc.close();
await nats.stop();

console.log(`\nParley's event topology with consumers that do nothing (${N.toLocaleString('en')} acked publishes of ${BYTES} bytes, ${INFLIGHT} in flight, each run on a fresh stream):`);
for (let run = 1; run <= RUNS; run++) {
  const rows = results.filter((r) => r.run === run);
  const raw = rows[0].rate;
  console.log(`run ${run}:`);
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(22)} ${Math.round(r.rate).toLocaleString('en').padStart(7)} events/s taken by every consumer (published at ${Math.round(r.publishRate).toLocaleString('en')}/s)  ratio to raw ${(r.rate / raw).toFixed(2)}   CPU per event (nats-server and every consumer) ${r.cpuMs.toFixed(3)} ms`,
    );
  }
}
