#!/usr/bin/env node
// The demo contact center the start command runs: one published address on queue "support", kept registered by
// heartbeats, and a bot agent that accepts offers, greets, echoes and ends the conversation when told "bye".
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'parley-demo-center' });
const js = jetstream(nc);
const ask = async (subject, payload) => {
  const reply = (await nc.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();
  if (reply.error) throw new Error(`${subject}: ${reply.error.code} ${reply.error.message}`);
  return reply;
};
const entryPoint = { entryPointId: 'demo-support', address: 'support@parley.example.test', displayName: 'Parley demo support', queueId: 'support', leaseSeconds: 60 };
const agentId = 'demo-bot';

await ask('parley.v1.registration.register', entryPoint);
await ask('parley.v1.agent.login', { agentId, displayName: 'Parley demo bot', kind: 'bot', skills: { general: 3 }, languages: ['en'], capacity: 5, capabilities: ['text'], queues: ['support'], leaseSeconds: 60 });
const beat = setInterval(() => {
  ask('parley.v1.registration.heartbeat', { entryPointId: entryPoint.entryPointId }).catch(() => ask('parley.v1.registration.register', entryPoint).catch(() => undefined));
  ask('parley.v1.agent.heartbeat', { agentId }).catch(() => undefined);
}, 20_000);

const consumer = await js.consumers.get('PARLEY_DELIVERIES', { filter_subjects: `parley.v1.agent.deliver.${agentId}`, deliver_policy: 'new' });
const messages = await consumer.consume();
console.log(JSON.stringify({ level: 'info', service: 'demo-center', msg: 'demo contact center ready' }));
process.on('SIGTERM', async () => {
  clearInterval(beat);
  messages.stop();
  await ask('parley.v1.agent.state', { agentId, state: 'offline' }).catch(() => undefined);
  await nc.drain();
  process.exit(0);
});

let n = 0;
for await (const m of messages) {
  const d = m.json();
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
