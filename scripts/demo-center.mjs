#!/usr/bin/env node
// The demo contact center the start command runs: one published address on queue "support", kept registered by
// heartbeats, and a bot agent that takes every chat first, answers in the customer's language (English or German),
// echoes, hands the chat to a person when asked ("person", "Mensch": a transfer to the queue "people", where the
// person's desk receives the conversation so far), and ends the conversation when told "bye".
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
const request = (conn) => async (subject, payload) => {
  const reply = (await conn.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json();
  if (reply.error) throw new Error(`${subject}: ${reply.error.code} ${reply.error.message}`);
  return reply;
};
const register = request(registrar);
const bot = request(nc);
// Agent requests go on the bot's own subjects; registration requests through the registrar's connection.
const ask = (subject, payload) => (subject.startsWith('parley.v1.agent.') ? bot(subject.replace('parley.v1.', `parley.v1.as.agent.${agentId}.`), payload) : register(subject, payload));
const entryPoint = { entryPointId: 'demo-support', address: 'support@parley.example.test', displayName: 'Parley demo support', queueId: 'support', leaseSeconds: 60 };
const agentId = 'demo-bot';
const PEOPLE = 'people';

const TEXT = {
  en: {
    hello: 'Hello! I am the Parley demo bot. I echo what you write. Write "person" to talk to a person, or "bye" to end.',
    echo: (body) => `You said: ${body}`,
    handover: 'I am handing you to a colleague, who will see our conversation so far. One moment, please.',
    nobody:
      'I am handing you to a colleague, who will see our conversation so far. Nobody is signed in right now: you keep your place until someone is (in the demo, sign in to the agent desktop as alex / parley).',
  },
  de: {
    hello: 'Hallo! Ich bin der Parley-Demo-Bot. Ich wiederhole, was Sie schreiben. Schreiben Sie "Mensch", um mit einer Person zu sprechen, oder "tschüss" zum Beenden.',
    echo: (body) => `Sie schrieben: ${body}`,
    handover: 'Ich verbinde Sie mit einer Kollegin oder einem Kollegen, die unser bisheriges Gespräch sieht. Einen Moment bitte.',
    nobody:
      'Ich verbinde Sie mit einer Kollegin oder einem Kollegen, die unser bisheriges Gespräch sieht. Gerade ist niemand angemeldet: Sie behalten Ihren Platz, bis jemand da ist (in der Demo: am Agenten-Desktop als alex / parley anmelden).',
  },
};
const HANDOVER = /\b(person|human|agent|someone|mensch|menschen|mitarbeiter\w*|berater\w*)\b/i;
const BYE = /^(bye|tschüss|tschuess|ciao)[.!]*$/i;
const languageOf = (locale) => (typeof locale === 'string' && locale.toLowerCase().startsWith('de') ? 'de' : 'en');

await ask('parley.v1.registration.register', entryPoint);
await ask('parley.v1.agent.login', {
  agentId,
  displayName: 'Parley demo bot',
  kind: 'bot',
  skills: { general: 5 },
  languages: ['en', 'de'],
  capacity: 5,
  capabilities: ['text'],
  queues: ['support'],
  leaseSeconds: 60,
});
const beat = setInterval(() => {
  ask('parley.v1.registration.heartbeat', { entryPointId: entryPoint.entryPointId }).catch(() => ask('parley.v1.registration.register', entryPoint).catch(() => undefined));
  ask('parley.v1.agent.heartbeat', { agentId }).catch(() => undefined);
}, 20_000);

await (
  await jetstreamManager(nc)
).consumers.add('PARLEY_DELIVERIES', { durable_name: `bot-${agentId}`, filter_subject: `parley.v1.agent.deliver.${agentId}`, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
const consumer = await js.consumers.get('PARLEY_DELIVERIES', `bot-${agentId}`);
const messages = await consumer.consume();
console.log(JSON.stringify({ level: 'info', service: 'demo-center', msg: 'demo contact center ready' }));
// Once, however many signals come (the start script's, and npm's forwarding it): a second drain would reject.
let leaving = false;
const leave = async () => {
  if (leaving) return;
  leaving = true;
  clearInterval(beat);
  messages.stop();
  await ask('parley.v1.agent.state', { agentId, state: 'offline' }).catch(() => undefined);
  await nc.drain().catch(() => undefined);
  await registrar.drain().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void leave());
process.on('SIGINT', () => void leave());

/** Each conversation's language, from the customer's locale on the offer. */
const language = new Map();
let n = 0;
for await (const m of messages) {
  const d = m.json();
  m.ack();
  const send = (body) => ask('parley.v1.agent.message', { agentId, sessionId: d.sessionId, messageId: `demo-${Date.now()}-${++n}`, body });
  const text = TEXT[language.get(d.sessionId) ?? 'en'];
  try {
    if (d.kind === 'offer') {
      language.set(d.sessionId, languageOf(d.customer?.locale));
      await ask('parley.v1.agent.offer.accept', { agentId, offerId: d.offerId });
      await send(TEXT[language.get(d.sessionId)].hello);
    } else if (d.kind === 'message' && d.author !== 'agent') {
      const body = d.body.trim();
      if (BYE.test(body)) await ask('parley.v1.agent.session.end', { agentId, sessionId: d.sessionId, disposition: 'demo-done' });
      else if (HANDOVER.test(body)) {
        const people = await ask(`parley.v1.stats.queue.${PEOPLE}`, {}).catch(() => ({ agentsAvailable: 1 }));
        await send(people.agentsAvailable > 0 ? text.handover : text.nobody);
        await ask('parley.v1.agent.transfer', { agentId, sessionId: d.sessionId, toQueueId: PEOPLE, reason: 'the customer asked for a person' });
      } else await send(text.echo(body));
    } else if (d.kind === 'session-ended') language.delete(d.sessionId);
  } catch (err) {
    console.log(JSON.stringify({ level: 'warn', service: 'demo-center', msg: String(err) }));
  }
}
