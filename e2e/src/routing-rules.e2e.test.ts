import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ParleyStack, until } from './parley-stack.js';

const centerFile = join(mkdtempSync(join(tmpdir(), 'parley-rules-')), 'center.yaml');
writeFileSync(
  centerFile,
  stringify({
    queues: [
      {
        id: 'rr-front',
        strategy: 'longest-idle',
        steps: [
          { afterSeconds: 0, agentKind: 'bot' },
          { afterSeconds: 120, agentKind: 'human' },
        ],
      },
      { id: 'rr-people', strategy: 'best-skill' },
    ],
  }),
);

let stack: ParleyStack;

beforeAll(async () => {
  stack = await ParleyStack.start({ PARLEY_CENTER_FILE: centerFile, OFFER_TIMEOUT_SECONDS: '30', ROUTING_TICK_MS: '100' });
  for (const [entryPointId, queueId] of [
    ['rr-front', 'rr-front'],
    ['rr-arrival', 'rr-arrival'],
    ['rr-named', 'rr-named'],
    ['rr-wrap', 'rr-wrap'],
  ]) {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId, address: `${entryPointId}@support.example.test`, queueId, leaseSeconds: 600 });
  }
});

afterAll(async () => {
  await stack?.stop();
});

const login = async (agentId: string, queues: string[], extra: Record<string, unknown> = {}) => {
  const inbox = await stack.agentInbox(agentId);
  await stack.request(SUBJECTS.agentLogin, { agentId, displayName: agentId, kind: 'human', skills: {}, languages: ['en'], capacity: 1, capabilities: [], queues, leaseSeconds: 600, ...extra });
  return inbox;
};
let n = 0;
const customer = async (entryPointId: string, channel: string, name: string) => {
  const from = `${name}@customers.example.test`;
  const s = await stack.request<{ sessionId: string; sessionAddress: string }>(SUBJECTS.imSubscribe, { channel, from, to: `${entryPointId}@support.example.test` });
  return { ...s, from, say: (body: string) => stack.request(SUBJECTS.imMessage, { messageId: `rr-${++n}`, channel, from, to: s.sessionAddress, body }) };
};
const agentSays = (agentId: string, sessionId: string, body: string) => stack.request(SUBJECTS.agentMessage, { agentId, sessionId, messageId: `rr-a-${++n}`, body });

describe('bot first, people after', () => {
  it('gives the session to the bot, which hands it to a person with the conversation so far', async () => {
    const person = await login('rr-person', ['rr-front', 'rr-people'], { skills: { billing: 4 } }); // idle longest, but step 1 is bots only
    const bot = await login('rr-bot', ['rr-front'], { kind: 'bot', capacity: 10 });
    const customers = await stack.customerInbox('rr-front');
    const c = await customer('rr-front', 'rr-front', 'bea');
    const botOffer = await bot.waitFor((d) => d.kind === 'offer', 'the offer to the bot');
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-bot', offerId: botOffer.offerId });
    await c.say('My invoice is wrong and I want a person.');
    await bot.waitFor((d) => d.kind === 'message', 'the customer line at the bot');
    await agentSays('rr-bot', c.sessionId, 'I am handing you to a colleague.');
    expect(await stack.request(SUBJECTS.agentTransfer, { agentId: 'rr-bot', sessionId: c.sessionId, toQueueId: 'rr-people', reason: 'customer asked for a person' })).toEqual({
      sessionId: c.sessionId,
    });
    await bot.waitFor((d) => d.kind === 'session-ended' && d.body === 'transferred', 'the end of the session at the bot');
    await customers.waitFor((d) => d.sessionId === c.sessionId && d.kind === 'system' && d.body.includes('transferred'), 'the transfer notice to the customer');
    const offer = await person.waitFor((d) => d.kind === 'offer', 'the offer to the person');
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-person', offerId: offer.offerId });
    const transcript = await person.waitFor((d) => d.kind === 'message' && d.author === 'agent', 'the transcript at the person');
    const lines = person.items.filter((d) => d.kind === 'message').map((d) => [d.author, d.body]);
    expect(lines).toEqual([
      ['customer', 'My invoice is wrong and I want a person.'],
      ['agent', 'I am handing you to a colleague.'],
    ]);
    expect(transcript.from).toBe(c.sessionAddress);
    // The supervisor's question: why did this session go where it went?
    const why = await stack.request<{
      offers: { agentId: string; outcome: string; decision: { queueId: string; rule: string; strategy: string; eligible: string[]; tieBreak: string } }[];
      timeline: { type: string }[];
    }>(SUBJECTS.supervisorSessionExplain, { sessionId: c.sessionId });
    expect(why.offers.map((o) => [o.agentId, o.outcome])).toEqual([
      ['rr-bot', 'accepted'],
      ['rr-person', 'accepted'],
    ]);
    expect(why.offers[0]!.decision).toMatchObject({ queueId: 'rr-front', strategy: 'longest-idle', rule: expect.stringContaining('bots only'), eligible: ['rr-bot'] });
    expect(why.offers[1]!.decision).toMatchObject({ queueId: 'rr-people', strategy: 'best-skill', eligible: ['rr-person'] });
    expect(why.timeline.map((t) => t.type)).toContain('SessionTransferred');
  });
});

describe('transfers', () => {
  it('keeps the history and the original arrival: a transferred session goes before later arrivals', async () => {
    const first = await login('rr-first', ['rr-arrival']);
    const customers = await stack.customerInbox('rr-arrival');
    const c = await customer('rr-arrival', 'rr-arrival', 'carl');
    const offer = await first.waitFor((d) => d.kind === 'offer', 'the first offer');
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-first', offerId: offer.offerId });
    await c.say('Hello, order 12.');
    await agentSays('rr-first', c.sessionId, 'Let me pass you to the order desk.');
    // Someone arrives later and waits in the same queue; nobody is free for them.
    const later = await customer('rr-arrival', 'rr-arrival', 'dana');
    const arrivedAt = (await stack.store.readStream({ aggregate: 'session', id: c.sessionId })).events.find((e) => e.type === 'SessionQueued')!.data as { arrivedAt: string };
    await stack.request(SUBJECTS.agentState, { agentId: 'rr-first', state: 'away', reason: 'break' });
    await stack.request(SUBJECTS.agentTransfer, { agentId: 'rr-first', sessionId: c.sessionId, toQueueId: 'rr-arrival' });
    // Nobody is free: Carl hears his place in the queue, but only after the agent's last words and the transfer notice.
    const lastWords = await customers.waitFor((d) => d.sessionId === c.sessionId && d.kind === 'text', "the agent's last words to Carl");
    const after = (d: { sessionId: string }) => d.sessionId === c.sessionId && customers.items.indexOf(d as never) > customers.items.indexOf(lastWords);
    const place = await customers.waitFor((d) => after(d) && d.kind === 'status', 'a queue status for Carl after the transfer');
    const notice = customers.items.find((d) => after(d) && d.kind === 'system' && d.body.includes('transferred'));
    expect(notice, 'the transfer notice before the status').toBeDefined();
    expect(customers.items.indexOf(notice!)).toBeLessThan(customers.items.indexOf(place));
    const next = await login('rr-next', ['rr-arrival']);
    const offered = await next.waitFor((d) => d.kind === 'offer', 'an offer to the next agent');
    expect(offered.sessionId).toBe(c.sessionId);
    expect(offered.sessionId).not.toBe(later.sessionId);
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-next', offerId: offered.offerId });
    await next.waitFor((d) => d.kind === 'message' && d.author === 'agent', 'the history at the next agent');
    expect(next.items.filter((d) => d.kind === 'message').map((d) => d.body)).toEqual(['Hello, order 12.', 'Let me pass you to the order desk.']);
    const events = (await stack.store.readStream({ aggregate: 'session', id: c.sessionId })).events;
    expect(events.filter((e) => e.type === 'SessionQueued')).toHaveLength(1);
    expect(arrivedAt.arrivedAt).toBe((events.find((e) => e.type === 'SessionOpened')!.data as { openedAt: string }).openedAt);
  });

  it('transfers to a named agent only, and refuses a transfer by someone else or with no target', async () => {
    const owner = await login('rr-owner', ['rr-named']);
    const c = await customer('rr-named', 'rr-named', 'emil');
    const offer = await owner.waitFor((d) => d.kind === 'offer' && d.sessionId === c.sessionId, 'the offer to the owner');
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-owner', offerId: offer.offerId });
    expect(await stack.request(SUBJECTS.agentTransfer, { agentId: 'rr-stranger', sessionId: c.sessionId, toQueueId: 'rr-named' })).toMatchObject({ error: { code: 'forbidden' } });
    expect(await stack.request(SUBJECTS.agentTransfer, { agentId: 'rr-owner', sessionId: c.sessionId })).toMatchObject({
      error: { code: 'invalid-payload', details: { fields: { toQueueId: expect.any(Array) } } },
    });
    const bystander = await login('rr-bystander', ['rr-named']); // free, and of the session's queue
    const expert = await login('rr-expert', ['elsewhere']);
    await stack.request(SUBJECTS.agentTransfer, { agentId: 'rr-owner', sessionId: c.sessionId, toAgentId: 'rr-expert' });
    const toExpert = await expert.waitFor((d) => d.kind === 'offer', 'the offer to the named agent');
    expect(toExpert.sessionId).toBe(c.sessionId);
    expect(bystander.items.filter((d) => d.kind === 'offer' && d.sessionId === c.sessionId)).toEqual([]);
  });
});

describe('wrap-up', () => {
  it('makes no offer to an agent during wrap-up, and shows the state', async () => {
    // 10 s of wrap-up: the state request below must land inside it, however slow the machine.
    const inbox = await login('rr-wrapper', ['rr-wrap'], { wrapUpSeconds: 10 });
    const c1 = await customer('rr-wrap', 'rr-wrap', 'fred');
    const o1 = await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c1.sessionId, 'the first offer');
    await stack.request(SUBJECTS.agentOfferAccept, { agentId: 'rr-wrapper', offerId: o1.offerId });
    await stack.request(SUBJECTS.agentSessionEnd, { agentId: 'rr-wrapper', sessionId: c1.sessionId, disposition: 'done' });
    const end = await until(
      async () => (await stack.store.readStream({ aggregate: 'agent', id: 'rr-wrapper' })).events.find((e) => e.type === 'AgentConversationEnded'),
      'the end of the conversation on the agent',
    );
    const wrapUpUntil = (end.data as { wrapUpUntil?: string }).wrapUpUntil;
    expect(wrapUpUntil).toBeTruthy();
    expect(await stack.request(SUBJECTS.agentState, { agentId: 'rr-wrapper', state: 'available' })).toEqual({ agentId: 'rr-wrapper', state: 'wrap-up' });
    const c2 = await customer('rr-wrap', 'rr-wrap', 'gina');
    const o2 = await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c2.sessionId, 'the offer after wrap-up', 30_000);
    const offered = (await stack.store.readStream({ aggregate: 'session', id: c2.sessionId })).events.find(
      (e) => e.type === 'SessionOffered' && (e.data as { offerId: string }).offerId === o2.offerId,
    )!;
    expect(Date.parse(offered.metadata.at)).toBeGreaterThanOrEqual(Date.parse(wrapUpUntil!));
  });
});
