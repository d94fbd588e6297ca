import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUBJECTS } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-pre-routing-'));
// Far enough ahead that a slow stack start on a loaded machine still subscribes before the opening.
const opensAt = new Date(Date.now() + 30_000).toISOString();
const allDay = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['00:00-24:00']]));
const center = {
  flows: [
    {
      id: 'two-questions',
      greeting: { en: 'Welcome to Acme.', de: 'Willkommen bei Acme.' },
      retry: { en: 'Sorry, once more please.' },
      done: { en: 'Thanks, an agent will be with you.' },
      maxAttempts: 2,
      fallback: { queue: 'pr-general' },
      start: 'topic',
      questions: [
        {
          id: 'topic',
          kind: 'menu',
          attribute: 'topic',
          prompt: { en: 'What is it about?', de: 'Worum geht es?' },
          options: [
            { key: '1', label: { en: 'Billing', de: 'Rechnung' }, route: { queue: 'pr-billing', skills: { billing: 2 } }, next: 'language' },
            { key: '2', label: { en: 'Technical support', de: 'Technik' }, route: { queue: 'pr-tech', skills: { tech: 3 } }, next: 'language' },
          ],
        },
        {
          id: 'language',
          kind: 'menu',
          attribute: 'language',
          prompt: { en: 'Which language?', de: 'Welche Sprache?' },
          options: [
            { key: '1', label: { en: 'English', de: 'Englisch' }, route: { language: 'en' } },
            { key: '2', label: { en: 'German', de: 'Deutsch' }, route: { language: 'de' } },
          ],
        },
      ],
    },
  ],
  hours: [
    { id: 'opens-soon', timeZone: 'Europe/Berlin', weekly: allDay, closures: [{ from: '2026-01-01T00:00:00Z', to: opensAt }], leaveMessage: true, closedMessage: { en: 'We are closed.' } },
    { id: 'closed', timeZone: 'Europe/Berlin', weekly: allDay, closures: [{ from: '2026-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z' }], closedMessage: { en: 'Closed for the holidays.' } },
  ],
  entryPoints: [
    { id: 'pr-flow', flow: 'two-questions' },
    { id: 'pr-leave', hours: 'opens-soon' },
    { id: 'pr-closed', hours: 'closed' },
  ],
  queues: [{ id: 'pr-busy', maxWaiting: 1, overloadedMessage: { en: 'Too busy, sorry.' } }],
  capabilityRules: [{ whenClientLacks: 'xhtml-im', requireAgentCapability: 'plain-text' }],
};
const centerFile = join(dir, 'center.yaml');
writeFileSync(centerFile, stringify(center));

let stack: ParleyStack;

beforeAll(async () => {
  // Reporting's figures decide "overloaded" below: on a loaded machine they may take longer than the 1 s default.
  stack = await ParleyStack.start({ PARLEY_CENTER_FILE: centerFile, OFFER_TIMEOUT_SECONDS: '30', ROUTING_TICK_MS: '100', QUEUE_STATS_TIMEOUT_MS: '5000' });
  const register = (entryPointId: string, queueId: string) =>
    stack.request(SUBJECTS.registrationRegister, { entryPointId, address: `${entryPointId}@support.example.test`, queueId, leaseSeconds: 600 });
  await register('pr-flow', 'pr-intake');
  await register('pr-leave', 'pr-leave');
  await register('pr-closed', 'pr-closed');
  await register('pr-busy', 'pr-busy');
  await register('pr-cap', 'pr-cap');
});

afterAll(async () => {
  await stack?.stop();
});

const login = async (agentId: string, queues: string[], extra: Record<string, unknown> = {}) => {
  const inbox = await stack.agentInbox(agentId);
  expect(
    await stack.request(SUBJECTS.agentLogin, { agentId, displayName: agentId, kind: 'human', skills: {}, languages: ['en'], capacity: 1, capabilities: [], queues, leaseSeconds: 600, ...extra }),
  ).toMatchObject({ state: 'available' });
  return inbox;
};
const subscribe = (entryPointId: string, channel: string, from: string, client = { name: 'Psi+', version: '1.5.1', capabilities: ['xhtml-im'] }) =>
  stack.request<{ status: string; sessionId: string; sessionAddress: string; reason?: string; message?: string; opensAt?: string }>(SUBJECTS.imSubscribe, {
    channel,
    from,
    to: `${entryPointId}@support.example.test`,
    client,
    locale: 'en',
  });
let m = 0;
const say = (channel: string, from: string, to: string, body: string) => stack.request(SUBJECTS.imMessage, { messageId: `pr-${++m}`, channel, from, to, body });

describe('outside business hours', () => {
  it('takes a message that reaches the first agent after opening', async () => {
    const inbox = await login('pr-leave-agent', ['pr-leave']);
    const reply = await subscribe('pr-leave', 'pr-leave', 'lea@customers.example.test');
    expect(reply).toMatchObject({ status: 'available', opensAt });
    expect(reply.message).toContain('Leave us a message');
    await say('pr-leave', 'lea@customers.example.test', reply.sessionAddress, 'Please call me back about order 77.');
    const offer = await inbox.waitFor((d) => d.kind === 'offer', 'the offer after opening', 60_000);
    const offered = (await stack.store.readStream({ aggregate: 'session', id: reply.sessionId })).events.find((e) => e.type === 'SessionOffered')!;
    expect(Date.parse(offered.metadata.at)).toBeGreaterThanOrEqual(Date.parse(opensAt));
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'pr-leave-agent', offerId: offer.offerId });
    const message = await inbox.waitFor((d) => d.kind === 'message', 'the message left while closed');
    expect(message.body).toBe('Please call me back about order 77.');
  });

  it('answers closed, with the hours message, when leaving a message is off', async () => {
    const reply = await subscribe('pr-closed', 'pr-closed', 'cleo@customers.example.test');
    expect(reply).toMatchObject({ status: 'unavailable', reason: 'closed', opensAt: '2099-01-01T00:00:00.000Z' });
    expect(reply.message).toContain('Closed for the holidays.');
  });
});

describe('the intake flow', () => {
  it('routes on the answers to a two-question menu; the offer shows the answers and the client', async () => {
    const weak = await login('pr-billing-weak', ['pr-billing'], { skills: { billing: 1 }, languages: ['de'] });
    const english = await login('pr-billing-en', ['pr-billing'], { skills: { billing: 3 }, languages: ['en'] });
    const strong = await login('pr-billing-de', ['pr-billing'], { skills: { billing: 3 }, languages: ['de', 'en'] });
    const customers = await stack.customerInbox('pr-flow');
    const from = 'hans@customers.example.test';
    const s = await subscribe('pr-flow', 'pr-flow', from);
    const greeting = await customers.waitFor((d) => d.sessionId === s.sessionId && d.kind === 'system', 'the greeting');
    expect(greeting.body).toBe('Welcome to Acme.\nWhat is it about?\n1 Billing, 2 Technical support');
    await say('pr-flow', from, s.sessionAddress, '1');
    await customers.waitFor((d) => d.sessionId === s.sessionId && d.body === 'Which language?\n1 English, 2 German', 'the second question');
    await say('pr-flow', from, s.sessionAddress, 'German');
    await customers.waitFor((d) => d.sessionId === s.sessionId && d.body === 'Thanks, an agent will be with you.', 'the end of the intake');
    const offer = await strong.waitFor((d) => d.kind === 'offer', 'the offer to the agent with billing ≥ 2 and German');
    expect(offer.customer).toEqual({ channel: 'pr-flow', client: { name: 'Psi+', version: '1.5.1', capabilities: ['xhtml-im'] }, locale: 'en', answers: { topic: '1', language: '2' } });
    expect(weak.items.filter((d) => d.kind === 'offer')).toEqual([]);
    expect(english.items.filter((d) => d.kind === 'offer')).toEqual([]);
    const queued = (await stack.store.readStream({ aggregate: 'session', id: s.sessionId })).events.find((e) => e.type === 'SessionQueued')!;
    expect(queued.data).toMatchObject({ queueId: 'pr-billing', requirements: { skills: { billing: 2 }, language: 'de' } });
    // The answers are not replayed to the agent as chat lines.
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'pr-billing-de', offerId: offer.offerId });
    await say('pr-flow', from, s.sessionAddress, 'Hallo?');
    await strong.waitFor((d) => d.kind === 'message', 'the first chat line');
    expect(strong.items.filter((d) => d.kind === 'message').map((d) => d.body)).toEqual(['Hallo?']);
  });

  it('re-asks a bad answer and applies the fallback route after the allowed attempts', async () => {
    const general = await login('pr-general-agent', ['pr-general']);
    const customers = await stack.customerInbox('pr-flow-bad');
    const from = 'olga@customers.example.test';
    const s = await subscribe('pr-flow', 'pr-flow-bad', from);
    await customers.waitFor((d) => d.sessionId === s.sessionId && d.kind === 'system', 'the greeting');
    await say('pr-flow-bad', from, s.sessionAddress, 'nine');
    const again = await customers.waitFor((d) => d.sessionId === s.sessionId && d.body.startsWith('Sorry, once more please.'), 'the question asked again');
    expect(again.body).toBe('Sorry, once more please.\nWhat is it about?\n1 Billing, 2 Technical support');
    await say('pr-flow-bad', from, s.sessionAddress, 'ten');
    const offer = await general.waitFor((d) => d.kind === 'offer', 'the offer on the fallback route');
    expect(offer.sessionId).toBe(s.sessionId);
    const types = (await stack.store.readStream({ aggregate: 'session', id: s.sessionId })).events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['IntakeAnswerRejected', 'IntakeGaveUp', 'SessionQueued']));
  });
});

describe('client compatibility and overload', () => {
  it('routes a client lacking a capability that a rule requires only to agents who declared it', async () => {
    const earlier = await login('pr-cap-rich', ['pr-cap']); // longest idle, but no plain-text
    const plain = await login('pr-cap-plain', ['pr-cap'], { capabilities: ['plain-text'] });
    const s = await subscribe('pr-cap', 'pr-cap', 'tom@customers.example.test', { name: 'mcabber', version: '1.1.2', capabilities: [] });
    const offer = await plain.waitFor((d) => d.kind === 'offer', 'the offer to the plain-text agent');
    expect(offer.sessionId).toBe(s.sessionId);
    expect(offer.customer?.client).toEqual({ name: 'mcabber', version: '1.1.2', capabilities: [] });
    expect(earlier.items.filter((d) => d.kind === 'offer')).toEqual([]);
  });

  it("answers overloaded beyond the queue's maximum of waiting sessions", async () => {
    expect(await subscribe('pr-busy', 'pr-busy', 'first@customers.example.test')).toMatchObject({ status: 'available' });
    await until(async () => (await stack.request<{ waiting: number }>('parley.v1.stats.queue.pr-busy', {})).waiting === 1 || undefined, 'the first customer in the queue');
    const second = await subscribe('pr-busy', 'pr-busy', 'second@customers.example.test');
    expect(second).toEqual({ status: 'unavailable', reason: 'overloaded', message: 'Too busy, sorry.' });
    // Turning a customer away leaves no session behind, and the first customer keeps theirs.
    expect(await subscribe('pr-busy', 'pr-busy', 'first@customers.example.test')).toMatchObject({ status: 'available' });
  });
});

describe('a broken contact-center file', () => {
  it('stops the service at start with a message naming the file, line and field', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'flows:\n  - id: f\n    greeting: { en: Hi }\n    fallback: {}\n    start: q\n    questions:\n      - { id: q, kind: menu, prompt: { en: Pick } }\n');
    const main = fileURLToPath(new URL('../../services/presence-proxy/dist/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [main], { env: { ...process.env, ...stack.nats.serviceEnv('presence-proxy'), PARLEY_CENTER_FILE: broken }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`${broken}:7:`);
    expect(run.stderr).toContain('flows[0].questions[0].kind: a menu question needs options');
  });
});
