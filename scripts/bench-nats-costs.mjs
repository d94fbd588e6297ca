#!/usr/bin/env node
// What each kind of JetStream work costs nats-server and its client, per message, on a fresh server: an acked
// publish, a durable consumer's delivery with an explicit acknowledgement each, the same with one cumulative
// acknowledgement per batch (what Parley's durable consumers do), and with none (an ordered tail). The figures
// are CPU microseconds from /proc, so they compare across runs on a noisy machine better than rates do.
// Usage: npm run bench:nats-costs [-- --messages 30000]
import { parseArgs } from 'node:util';
import { buildOnce, cpuSeconds, libs, status, done } from './bench-stack.mjs';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '30000' } } });
const N = Number(values.messages);

buildOnce();
const { startNatsServer, connect, jetstream, jetstreamManager, AckPolicy } = await libs();
const nats = await startNatsServer();
const nc = await connect({ servers: nats.url, name: 'bench-nats-costs' });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: 'COSTS', subjects: ['costs.>'], storage: 'file' });

const cpu = () => ({ server: cpuSeconds(nats.pid), client: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 });
const rows = [];
async function measure(label, work) {
  status(`${label} ...`);
  const before = cpu();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const after = cpu();
  rows.push({ label, server: ((after.server - before.server) * 1e6) / N, client: ((after.client - before.client) * 1e6) / N, rate: N / seconds });
}

const body = 'x'.repeat(400);
await measure('acked publish (1,000 in flight)', async () => {
  let next = 0;
  await Promise.all(
    Array.from({ length: 1_000 }, async () => {
      while (next < N) await js.publish(`costs.s.${next++ % 1_000}`, body);
    }),
  );
});

async function drain(name, policy) {
  await jsm.consumers.add('COSTS', { durable_name: name, ack_policy: policy, max_ack_pending: 1_000, filter_subject: 'costs.>' });
  const consumer = await js.consumers.get('COSTS', name);
  for (let got = 0; got < N;) {
    let last;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 1_000 })) {
      got++;
      last = m;
      if (policy === AckPolicy.Explicit) m.ack();
    }
    if (policy === AckPolicy.All) last?.ack();
  }
  await nc.flush();
}
await measure('durable delivery, explicit ack each', () => drain('explicit', AckPolicy.Explicit));
await measure('durable delivery, one ack-all per 500', () => drain('all', AckPolicy.All));
await measure('durable delivery, no ack', () => drain('none', AckPolicy.None));
done();

await nc.close();
await nats.stop();
console.log(`\nnats-server CPU per message (${N.toLocaleString('en')} messages of ${body.length} bytes):`);
for (const r of rows) console.log(`  ${r.label.padEnd(40)} server ${r.server.toFixed(1).padStart(5)} us   client ${r.client.toFixed(1).padStart(5)} us   ${Math.round(r.rate).toLocaleString('en')}/s`);
