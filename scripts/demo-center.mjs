#!/usr/bin/env node
// The demo contact center the start command runs: one published address on queue "support", kept registered by
// heartbeats, and a bot agent that takes every chat first, answers in the customer's language (English or German),
// echoes, hands the chat to a person when asked ("person", "Mensch": a transfer to the queue "people", where the
// person's desk receives the conversation so far), and ends the conversation when told "bye".
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
const PEOPLE = 'people';

const TEXT = {
  en: {
    hello: 'Hello! I am the Parley demo bot. I echo what you write. Write "person" to talk to a person, or "bye" to end.',
    echo: (body) => `You said: ${body}`,
    handover: 'I am handing you to a colleague, who will see our conversation so far. One moment, please.',
    nobody: 'I am handing you to a colleague, who will see our conversation so far. Nobody is signed in right now: you keep your place until someone is (in the demo, sign in to the agent desktop as alex / parley).',
  },
  de: {
    hello: 'Hallo! Ich bin der Parley-Demo-Bot. Ich wiederhole, was Sie schreiben. Schreiben Sie "Mensch", um mit einer Person zu sprechen, oder "tschüss" zum Beenden.',
    echo: (body) => `Sie schrieben: ${body}`,
    handover: 'Ich verbinde Sie mit einer Kollegin oder einem Kollegen, die unser bisheriges Gespräch sieht. Einen Moment bitte.',
    nobody: 'Ich verbinde Sie mit einer Kollegin oder einem Kollegen, die unser bisheriges Gespräch sieht. Gerade ist niemand angemeldet: Sie behalten Ihren Platz, bis jemand da ist (in der Demo: am Agenten-Desktop als alex / parley anmelden).',
  },
};
const HANDOVER = /\b(person|human|agent|someone|mensch|menschen|mitarbeiter\w*|berater\w*)\b/i;
const BYE = /^(bye|tschüss|tschuess|ciao)[.!]*$/i;
const languageOf = (locale) => (typeof locale === 'string' && locale.toLowerCase().startsWith('de') ? 'de' : 'en');

await ask('parley.v1.registration.register', entryPoint);
await ask('parley.v1.agent.login', { agentId, displayName: 'Parley demo bot', kind: 'bot', skills: { general: 5 }, languages: ['en', 'de'], capacity: 5, capabilities: ['text'], queues: ['support'], leaseSeconds: 60 });
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

/** Each conversation's language, from the customer's locale on the offer. */
const language = new Map();
let n = 0;
for await (const m of messages) {
  const d = m.json();
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
