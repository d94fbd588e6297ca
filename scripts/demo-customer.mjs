#!/usr/bin/env node
// A customer on the command line, speaking the v1 contract as a channel gateway would (channel "cli").
// Usage: node scripts/demo-customer.mjs [published address]   (NATS_URL, or PARLEY_NATS_PORT, finds Parley)
// It connects as the demo's channel gateway for "cli" (infra/nats/templates/channel-gateway.conf): its nkey seed is
// in .data/nats/keys/demo_cli.nk (PARLEY_DEMO_CLI_SEED_FILE moves it); it reads through the durable gw-cli.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';

const to = process.argv[2] ?? 'support@parley.example.test';
const from = `${process.env.USER ?? 'customer'}-${process.pid}@cli.example.test`;
// The terminal's language as the customer's locale (LANG=de_DE.UTF-8 gets the German intake and bot).
const lang = (process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '').split('.')[0].replace('_', '-');
const locale = /^[a-z]{2}(-[A-Z]{2})?$/.test(lang) ? lang : undefined;
const servers = process.env.NATS_URL ?? `nats://127.0.0.1:${process.env.PARLEY_NATS_PORT ?? 4222}`;
const fail = (message) => {
  process.stderr.write(`demo-customer: ${message}\n`);
  process.exit(1);
};

let nc;
try {
  const seedFile = process.env.PARLEY_DEMO_CLI_SEED_FILE ?? join(process.env.PARLEY_DATA_DIR ?? '.data', 'nats', 'keys', 'demo_cli.nk');
  const auth = existsSync(seedFile) ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())) } : {};
  nc = await connect({ servers, name: 'parley-demo-customer', inboxPrefix: '_INBOX_gw_cli', ...auth });
} catch (err) {
  fail(`cannot reach NATS at ${servers} (${err.code ?? err.message}). Is Parley running? Start it with "npm start"; if it runs on other ports, use the NATS_URL its "try it" line prints.`);
}
// The channel's own subjects: the services refuse a payload whose channel is another.
const ask = async (plainSubject, payload) => {
  const subject = plainSubject.replace('parley.v1.', 'parley.v1.as.channel.cli.');
  try {
    return (await nc.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();
  } catch (err) {
    return { error: { code: 'unavailable', message: `${subject} did not answer (${err.message}); are Parley's services running?` } };
  }
};

// Listen before subscribing: the greeting and first question follow the subscription at once.
let deliveries;
try {
  await (
    await jetstreamManager(nc)
  ).consumers.add('PARLEY_DELIVERIES', { durable_name: 'gw-cli', filter_subject: 'parley.v1.im.deliver.cli', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
  const consumer = await jetstream(nc).consumers.get('PARLEY_DELIVERIES', 'gw-cli');
  deliveries = await consumer.consume();
} catch (err) {
  fail(`the deliveries stream is not there yet (${err.message}): is Parley running at ${servers}?`);
}

let session;
let ended = false;
const subscribe = async () => {
  const sub = await ask('parley.v1.im.subscribe', { channel: 'cli', from, to, client: { name: 'parley-demo-customer', version: '1.0', capabilities: ['text'] }, ...(locale ? { locale } : {}) });
  if (sub.status !== 'available') {
    console.log(`${to} is unavailable: ${sub.message ?? sub.reason ?? `${sub.error?.code}: ${sub.error?.message}`}`);
    return false;
  }
  session = sub;
  ended = false;
  console.log(`connected: write to ${sub.sessionAddress} (Ctrl-D leaves)`);
  return true;
};
if (!(await subscribe())) {
  await nc.close();
  process.exit(1);
}

void (async () => {
  for await (const m of deliveries) {
    const d = m.json();
    m.ack();
    if (d.to !== from) continue;
    if (d.kind === 'status') console.log(`  [queue] ${d.body}`);
    else if (d.kind === 'system') {
      console.log(`  [parley] ${d.body}`);
      if (d.sessionId === session?.sessionId && /conversation has ended/i.test(d.body)) {
        ended = true;
        console.log('  [parley] write again to start a new conversation, or Ctrl-D to leave.');
      }
    } else console.log(`  ${d.agentName ?? 'agent'}: ${d.body}`);
  }
})();

let n = 0;
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  // After the end, writing again is a new conversation, as it is for an IM contact.
  if (ended && !(await subscribe())) continue;
  let r = await ask('parley.v1.im.message', { messageId: `${process.pid}-${++n}`, channel: 'cli', from, to: session.sessionAddress, body: line });
  if (r.error?.code === 'not-found' && (await subscribe())) {
    r = await ask('parley.v1.im.message', { messageId: `${process.pid}-${++n}`, channel: 'cli', from, to: session.sessionAddress, body: line });
  }
  if (r.error) console.log(`  [error] ${r.error.code}: ${r.error.message}`);
}
if (!ended) await ask('parley.v1.im.unsubscribe', { channel: 'cli', from, to: session.sessionAddress });
deliveries.stop();
await nc.drain();
