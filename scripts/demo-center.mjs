#!/usr/bin/env node
// The demo contact center the start command runs: one published address on queue "support", kept registered by
// heartbeats, and a bot agent that accepts offers, greets, echoes and ends the conversation when told "bye".
// It connects twice, each time as what an integrator would be (infra/nats/templates): a registrar for its address
// (PARLEY_DEMO_REGISTRAR_SEED_FILE) and the bot demo-bot (PARLEY_DEMO_BOT_SEED_FILE), which acts only on its own
// subjects (parley.v1.as.agent.demo-bot.*) and reads its deliveries through its durable bot-demo-bot.
import { readFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const as = (seedFile, inboxPrefix) =>
  connect({ servers, name: 'parley-demo-center', inboxPrefix, ...(seedFile ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim())) } : {}) });
const registrar = await as(process.env.PARLEY_DEMO_REGISTRAR_SEED_FILE, '_INBOX_registrar_demo');
const nc = await as(process.env.PARLEY_DEMO_BOT_SEED_FILE, '_INBOX_bot_demo-bot');
const js = jetstream(nc);
const agentId = 'demo-bot';
const request = (conn) => async (subject, payload) => {
  const reply = (await conn.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();
  if (reply.error) throw new Error(`${subject}: ${reply.error.code} ${reply.error.message}`);
  return reply;
};
const register = request(registrar);
const bot = request(nc);
const ask = (subject, payload) => (subject.startsWith('parley.v1.agent.') ? bot(subject.replace('parley.v1.', `parley.v1.as.agent.${agentId}.`), payload) : register(subject, payload));
const entryPoint = { entryPointId: 'demo-support', address: 'support@parley.example.test', displayName: 'Parley demo support', queueId: 'support', leaseSeconds: 60 };

await ask('parley.v1.registration.register', entryPoint);
await ask('parley.v1.agent.login', { agentId, displayName: 'Parley demo bot', kind: 'bot', skills: { general: 3 }, languages: ['en'], capacity: 5, capabilities: ['text'], queues: ['support'], leaseSeconds: 60 });
const beat = setInterval(() => {
  ask('parley.v1.registration.heartbeat', { entryPointId: entryPoint.entryPointId }).catch(() => ask('parley.v1.registration.register', entryPoint).catch(() => undefined));
  ask('parley.v1.agent.heartbeat', { agentId }).catch(() => undefined);
}, 20_000);

await (await jetstreamManager(nc)).consumers.add('PARLEY_DELIVERIES', { durable_name: `bot-${agentId}`, filter_subject: `parley.v1.agent.deliver.${agentId}`, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
const consumer = await js.consumers.get('PARLEY_DELIVERIES', `bot-${agentId}`);
const messages = await consumer.consume();
console.log(JSON.stringify({ level: 'info', service: 'demo-center', msg: 'demo contact center ready' }));
process.on('SIGTERM', async () => {
  clearInterval(beat);
  messages.stop();
  await ask('parley.v1.agent.state', { agentId, state: 'offline' }).catch(() => undefined);
  await nc.drain();
  await registrar.drain();
  process.exit(0);
});

let n = 0;
for await (const m of messages) {
  const d = m.json();
  m.ack();
  const send = (body) => ask('parley.v1.agent.message', { agentId, sessionId: d.sessionId, messageId: `demo-${Date.now()}-${++n}`, body });
  try {
    if (d.kind === 'offer') {
      await ask('parley.v1.agent.offer.accept', { agentId, offerId: d.offerId });
      await send('Hello! I am the Parley demo bot. Write anything and I will echo it; write "bye" to end.');
    } else if (d.kind === 'message') {
      if (d.body.trim().toLowerCase() === 'bye') await ask('parley.v1.agent.session.end', { agentId, sessionId: d.sessionId, disposition: 'demo-done' });
      else await send(`You said: ${d.body}`);
    }
  } catch (err) {
    console.log(JSON.stringify({ level: 'warn', service: 'demo-center', msg: String(err) }));
  }
}
