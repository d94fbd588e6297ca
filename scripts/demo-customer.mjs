#!/usr/bin/env node
// A customer on the command line, speaking the v1 contract as a channel gateway would (channel "cli").
import { createInterface } from 'node:readline';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const to = process.argv[2] ?? 'support@parley.example.test';
const from = `${process.env.USER ?? 'customer'}-${process.pid}@cli.example.test`;
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
const ask = async (subject, payload) => (await nc.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();

// Listen before subscribing: the greeting and first question follow the subscription at once.
const consumer = await jetstream(nc).consumers.get('PARLEY_DELIVERIES', { filter_subjects: 'parley.v1.im.deliver.cli', deliver_policy: 'new' });
const deliveries = await consumer.consume();
const sub = await ask('parley.v1.im.subscribe', { channel: 'cli', from, to, client: { name: 'parley-demo-customer', version: '1.0', capabilities: ['text'] } });
if (sub.status !== 'available') {
  console.log(`${to} is unavailable: ${sub.reason ?? JSON.stringify(sub.error)}`);
  process.exit(1);
}
console.log(`connected: write to ${sub.sessionAddress} (Ctrl-D leaves)`);
void (async () => {
  for await (const m of deliveries) {
    const d = m.json();
    if (d.to !== from) continue;
    console.log(d.kind === 'status' ? `  [queue] ${d.body}` : d.kind === 'system' ? `  [parley] ${d.body}` : `  agent: ${d.body}`);
  }
})();
let n = 0;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const r = await ask('parley.v1.im.message', { messageId: `${process.pid}-${++n}`, channel: 'cli', from, to: sub.sessionAddress, body: line });
  if (r.error) console.log(`  [error] ${r.error.code}: ${r.error.message}`);
}
await ask('parley.v1.im.unsubscribe', { channel: 'cli', from, to: sub.sessionAddress });
deliveries.stop();
await nc.drain();
