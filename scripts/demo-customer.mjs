#!/usr/bin/env node
// A customer on the command line, speaking the v1 contract as a channel gateway would (channel "cli").
// It connects as the demo's channel gateway for "cli" (infra/nats/templates/channel-gateway.conf): its nkey seed is
// in .data/nats/keys/demo_cli.nk (PARLEY_DEMO_CLI_SEED_FILE moves it); it reads through the durable gw-cli.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';

const to = process.argv[2] ?? 'support@parley.example.test';
const from = `${process.env.USER ?? 'customer'}-${process.pid}@cli.example.test`;
const seedFile = process.env.PARLEY_DEMO_CLI_SEED_FILE ?? join(process.env.PARLEY_DATA_DIR ?? '.data', 'nats', 'keys', 'demo_cli.nk');
const auth = existsSync(seedFile) ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())) } : {};
const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', inboxPrefix: '_INBOX_gw_cli', ...auth });
const ask = async (subject, payload) => (await nc.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();
// The channel's own subjects: the services refuse a payload whose channel is another.
const as = (subject) => subject.replace('parley.v1.', 'parley.v1.as.channel.cli.');

// Listen before subscribing: the greeting and first question follow the subscription at once.
await (await jetstreamManager(nc)).consumers.add('PARLEY_DELIVERIES', { durable_name: 'gw-cli', filter_subject: 'parley.v1.im.deliver.cli', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
const consumer = await jetstream(nc).consumers.get('PARLEY_DELIVERIES', 'gw-cli');
const deliveries = await consumer.consume();
const sub = await ask(as('parley.v1.im.subscribe'), { channel: 'cli', from, to, client: { name: 'parley-demo-customer', version: '1.0', capabilities: ['text'] } });
if (sub.status !== 'available') {
  console.log(`${to} is unavailable: ${sub.reason ?? JSON.stringify(sub.error)}`);
  process.exit(1);
}
console.log(`connected: write to ${sub.sessionAddress} (Ctrl-D leaves)`);
void (async () => {
  for await (const m of deliveries) {
    const d = m.json();
    m.ack();
    if (d.to !== from) continue;
    console.log(d.kind === 'status' ? `  [queue] ${d.body}` : d.kind === 'system' ? `  [parley] ${d.body}` : `  agent: ${d.body}`);
  }
})();
let n = 0;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const r = await ask(as('parley.v1.im.message'), { messageId: `${process.pid}-${++n}`, channel: 'cli', from, to: sub.sessionAddress, body: line });
  if (r.error) console.log(`  [error] ${r.error.code}: ${r.error.message}`);
}
await ask(as('parley.v1.im.unsubscribe'), { channel: 'cli', from, to: sub.sessionAddress });
deliveries.stop();
await nc.drain();
