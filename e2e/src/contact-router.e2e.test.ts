import { SUBJECTS, redactCustomerIdentity } from '@parley/contracts';
import { contactCenterProjection } from '@parley/domain';
import { ProjectionRunner } from '@parley/event-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

let stack: ParleyStack;
let n = 0;
const uid = (p: string) => `${p}${++n}${Date.now().toString(36)}`;

beforeAll(async () => {
  // Offers time out in 5 s: short enough to see an expiry, long enough for an accept or reject on a loaded machine.
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '5', MAX_MISSED_OFFERS: '1', LEASE_SWEEP_INTERVAL_MS: '200', ROUTING_TICK_MS: '100' });
});

afterAll(async () => {
  await stack?.stop();
});

async function registerEntryPoint(queueId: string, leaseSeconds = 600) {
  const entryPointId = uid('ep');
  const address = `${entryPointId}@support.example.test`;
  const reply = await stack.request(SUBJECTS.registrationRegister, { entryPointId, address, queueId, leaseSeconds });
  expect(reply).toMatchObject({ entryPointId });
  return { entryPointId, address };
}

async function loginAgent(queueId: string, extra: Record<string, unknown> = {}) {
  const agentId = uid('agent');
  const inbox = await stack.agentInbox(agentId);
  const reply = await stack.request(SUBJECTS.agentLogin, {
    agentId,
    displayName: 'Robin',
    kind: 'human',
    skills: {},
    languages: ['en'],
    capacity: 1,
    capabilities: [],
    queues: [queueId],
    leaseSeconds: 600,
    ...extra,
  });
  expect(reply).toMatchObject({ agentId, state: 'available' });
  return { agentId, inbox };
}

interface Available {
  status: 'available';
  sessionId: string;
  sessionAddress: string;
}

async function subscribe(address: string, channel: string, from = `${uid('cust')}@customers.example.test`) {
  const reply = await stack.request<Available>(SUBJECTS.imSubscribe, { channel, from, to: address, client: { name: 'Gajim', version: '1.8.4', capabilities: ['xhtml-im'] } });
  expect(reply.status).toBe('available');
  return { ...reply, from, channel };
}

const say = (c: { channel: string; from: string; sessionAddress: string }, body: string, messageId = uid('m')) =>
  stack.request(SUBJECTS.imMessage, { messageId, channel: c.channel, from: c.from, to: c.sessionAddress, body });

describe('presence and sessions', () => {
  it('answers not-registered for an unregistered address and after a lease expires', async () => {
    const channel = uid('ch');
    expect(await stack.request(SUBJECTS.imSubscribe, { channel, from: 'ann@customers.example.test', to: 'nobody@support.example.test' })).toEqual({ status: 'unavailable', reason: 'not-registered' });
    // A 3 s lease: the first subscribe must come within it, the second after it, on however slow a machine.
    const { address } = await registerEntryPoint(uid('q'), 3);
    const first = await stack.request(SUBJECTS.imSubscribe, { channel, from: 'ann@customers.example.test', to: address });
    expect(first).toMatchObject({ status: 'available' });
    await until(
      async () => {
        const r = await stack.request<{ status: string; reason?: string }>(SUBJECTS.imSubscribe, { channel, from: 'bob@customers.example.test', to: address });
        return r.status === 'unavailable' && r.reason === 'not-registered' ? r : undefined;
      },
      'the lease to run out',
      20_000,
    );
  });

  it('gives a registered address a unique session address, and the same session to a customer who subscribes again', async () => {
    const { address } = await registerEntryPoint(uid('q'));
    const channel = uid('ch');
    const a = await subscribe(address, channel);
    const b = await subscribe(address, channel);
    expect(a.sessionAddress).not.toBe(address);
    expect(a.sessionAddress).not.toBe(b.sessionAddress);
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(a.sessionId.length).toBeGreaterThanOrEqual(22);
    const again = await stack.request<Available>(SUBJECTS.imSubscribe, { channel, from: a.from, to: address });
    expect(again).toEqual({ status: 'available', sessionId: a.sessionId, sessionAddress: a.sessionAddress });
  });
});

describe('one address, one entry point', () => {
  // Registration checked the address against its projection, then wrote: two registrations of one address at once
  // (on one instance, or one on each of the two that infra/k8s runs) each found it free and both were registered.
  it('gives an address to one of two entry points registering it at once, on either of two registration instances', async () => {
    await stack.launchExtra('registration');
    const pairs = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const address = `${uid('shared')}@support.example.test`;
        const queueId = uid('q');
        const outcomes = await Promise.all(
          [uid('epa'), uid('epb')].map((entryPointId) =>
            stack
              .request<{ entryPointId?: string; error?: { code: string } }>(SUBJECTS.registrationRegister, { entryPointId, address, queueId, leaseSeconds: 600 })
              .then((reply) => (reply.error ? { refused: reply.error.code } : { won: reply.entryPointId })),
          ),
        );
        return { address, outcomes };
      }),
    );
    for (const { address, outcomes } of pairs) {
      const winners = outcomes.filter((o) => 'won' in o);
      expect(winners, address).toHaveLength(1);
      expect(outcomes.filter((o) => 'refused' in o)).toEqual([{ refused: 'conflict' }]);
      // Whichever instance answers, the address is the winner's, at once.
      const lookups = await Promise.all(Array.from({ length: 4 }, () => stack.request<{ registered: boolean; entryPointId?: string }>(SUBJECTS.registrationLookup, { address })));
      for (const lookup of lookups) expect(lookup).toMatchObject({ registered: true, entryPointId: (winners[0] as { won: string }).won });
    }
  });

  it('lets another entry point register an address once its holder unregisters (at once) or its lease runs out (within seconds)', async () => {
    const register = (entryPointId: string, address: string, leaseSeconds: number) =>
      stack.request<{ entryPointId?: string; error?: { code: string } }>(SUBJECTS.registrationRegister, { entryPointId, address, queueId: uid('q'), leaseSeconds });
    const [a, b, c] = [uid('epa'), uid('epb'), uid('epc')];
    const address = `${uid('handed')}@support.example.test`;
    expect(await register(a, address, 3)).toMatchObject({ entryPointId: a });
    expect((await register(b, address, 600)).error?.code).toBe('conflict');
    // The lease runs out (3 s): the address is free once the lease sweeper has ended it, or 5 s after the lease's end
    // (a heartbeat sent just before the end may still be on its way), though the claim is younger than its 10 s grace.
    await until(async () => ((await register(b, address, 600)).entryPointId === b ? true : undefined), 'the address to be free for another entry point after the lease ran out', 20_000);
    expect(await stack.request(SUBJECTS.registrationUnregister, { entryPointId: b })).toEqual({});
    expect(await register(c, address, 600)).toMatchObject({ entryPointId: c });
    // The other instance's projection may still show b for the few ms until it has b's unregistration.
    await until(
      async () => ((await stack.request<{ entryPointId?: string }>(SUBJECTS.registrationLookup, { address })).entryPointId === c ? true : undefined),
      "a lookup on either instance to answer c's registration",
      10_000,
    );
  });

  it('answers a lookup right after a registration on either instance', async () => {
    for (let i = 0; i < 20; i++) {
      const { address, entryPointId } = await registerEntryPoint(uid('q'));
      const lookups = await Promise.all([1, 2].map(() => stack.request<{ registered: boolean; entryPointId?: string }>(SUBJECTS.registrationLookup, { address })));
      for (const lookup of lookups) expect(lookup).toMatchObject({ registered: true, entryPointId });
    }
  });
});

describe('queue, offers and conversation', () => {
  it('offers the first of three customers to the one agent and tells the others their positions', async () => {
    const queueId = uid('q');
    const { address } = await registerEntryPoint(queueId);
    const channel = uid('ch');
    const customers = await stack.customerInbox(channel);
    const { agentId, inbox } = await loginAgent(queueId);
    const c1 = await subscribe(address, channel);
    const offer1 = await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c1.sessionId, 'the offer of the first customer');
    expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId, offerId: offer1.offerId })).toEqual({ sessionId: c1.sessionId });
    const c2 = await subscribe(address, channel);
    const c3 = await subscribe(address, channel);
    const statusOf = (c: Available, position: number) => (d: { sessionId: string; kind: string; status?: { position: number } }) =>
      d.sessionId === c.sessionId && d.kind === 'status' && d.status?.position === position;
    const s2 = await customers.waitFor(statusOf(c2, 0), 'position 0 for the second customer');
    const s3 = await customers.waitFor(statusOf(c3, 1), 'position 1 for the third customer');
    expect(s2.to).toBe(c2.from);
    expect(s2.from).toBe(c2.sessionAddress);
    expect(s3.status!.estimatedWaitSeconds).toBeGreaterThan(s2.status!.estimatedWaitSeconds);
    // The first conversation ends: the second customer is being connected, the third is next.
    expect(await stack.request(SUBJECTS.agentSessionEnd, { agentId, sessionId: c1.sessionId, disposition: 'resolved' })).toEqual({});
    await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c2.sessionId, 'the offer of the second customer');
    await customers.waitFor(statusOf(c3, 0), 'position 0 for the third customer');
    const stats = await stack.request<Record<string, number>>(`parley.v1.stats.queue.${queueId}`, {});
    expect(stats).toMatchObject({ queueId, waiting: 2, agentsBusy: 1 });
    expect(stats.longestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(stats.estimatedWaitSeconds).toBeGreaterThan(0);
  });

  it('delivers the messages sent while queued in order and once on accept, and relays both ways without leaking addresses', async () => {
    const queueId = uid('q');
    const { address } = await registerEntryPoint(queueId);
    const channel = uid('ch');
    const customers = await stack.customerInbox(channel);
    const c = await subscribe(address, channel);
    const bodies = ['hello', 'my invoice is wrong', 'order 4711'];
    for (const body of bodies) expect(await say(c, body)).toEqual({ sessionId: c.sessionId, accepted: true });
    const { agentId, inbox } = await loginAgent(queueId);
    const offer = await inbox.waitFor((d) => d.kind === 'offer', 'an offer');
    expect(offer.from).toBe(c.sessionAddress);
    expect(offer.customer).toMatchObject({ channel, client: { name: 'Gajim', version: '1.8.4' } });
    await stack.request(SUBJECTS.agentOfferAccept, { agentId, offerId: offer.offerId });
    await say(c, 'are you there?');
    await until(() => inbox.items.filter((d) => d.kind === 'message').length >= 4 || undefined, 'backlog and live message');
    const messages = inbox.items.filter((d) => d.kind === 'message');
    expect(messages.map((d) => d.body)).toEqual([...bodies, 'are you there?']);
    expect(new Set(messages.map((d) => d.deliveryId)).size).toBe(4);
    expect(messages.every((d) => d.from === c.sessionAddress)).toBe(true);
    expect(await stack.request(SUBJECTS.agentMessage, { agentId, sessionId: c.sessionId, messageId: uid('r'), body: 'Hi, I am looking at it' })).toEqual({ accepted: true });
    const reply = await customers.waitFor((d) => d.kind === 'text' && d.sessionId === c.sessionId, 'the agent reply');
    // The customer sees the agent's display name (the contact center's alias), never the agent's ID or address.
    expect(reply).toMatchObject({ to: c.from, from: c.sessionAddress, body: 'Hi, I am looking at it', agentName: 'Robin' });
    await stack.request(SUBJECTS.imUnsubscribe, { channel, from: c.from, to: c.sessionAddress });
    await inbox.waitFor((d) => d.kind === 'session-ended', 'the end of the session at the agent');
    const toCustomer = JSON.stringify(customers.items.filter((d) => d.sessionId === c.sessionId));
    expect(toCustomer).not.toContain(agentId);
    expect(JSON.stringify(inbox.items)).not.toContain(c.from);
  });

  it('refuses forged senders, unknown sessions, malformed payloads and repeated message IDs without changing state', async () => {
    const queueId = uid('q');
    const { address } = await registerEntryPoint(queueId);
    const channel = uid('ch');
    const c = await subscribe(address, channel);
    const stream = { aggregate: 'session', id: c.sessionId };
    await say(c, 'first', 'dup-1');
    const before = await stack.store.readStream(stream);
    const forged = await stack.request(SUBJECTS.imMessage, { messageId: uid('m'), channel, from: 'mallory@evil.example.test', to: c.sessionAddress, body: 'hi' });
    expect(forged).toMatchObject({ error: { code: 'forbidden' } });
    const unknown = await stack.request(SUBJECTS.imMessage, { messageId: uid('m'), channel, from: c.from, to: 's-AAAAAAAAAAAAAAAAAAAAAA@support.example.test', body: 'hi' });
    expect(unknown).toMatchObject({ error: { code: 'not-found' } });
    const malformed = await stack.request<{ error: { code: string; details: { fields: Record<string, string[]> } } }>(SUBJECTS.imMessage, {
      messageId: uid('m'),
      channel,
      from: c.from,
      to: c.sessionAddress,
      body: 42,
    });
    expect(malformed.error.code).toBe('invalid-payload');
    expect(Object.keys(malformed.error.details.fields)).toEqual(['body']);
    expect(await stack.request(SUBJECTS.imMessage, '{not json')).toMatchObject({ error: { code: 'invalid-payload' } });
    expect(await say(c, 'first', 'dup-1')).toEqual({ sessionId: c.sessionId, accepted: true });
    const after = await stack.store.readStream(stream);
    expect(after.version).toBe(before.version);
    expect(after.events.filter((e) => e.type === 'CustomerMessageReceived')).toHaveLength(1);
  });

  it('re-offers a rejected offer and an expired offer to another agent, and sets away an agent who lets offers expire', async () => {
    const queueId = uid('q');
    const { address } = await registerEntryPoint(queueId);
    const channel = uid('ch');
    const a = await loginAgent(queueId);
    const c = await subscribe(address, channel);
    const first = await a.inbox.waitFor((d) => d.kind === 'offer', 'offer to agent A');
    const b = await loginAgent(queueId);
    expect(await stack.request(SUBJECTS.agentOfferReject, { agentId: a.agentId, offerId: first.offerId, reason: 'busy' })).toEqual({});
    const second = await b.inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c.sessionId, 'offer to agent B after the reject');
    // B lets it expire: it comes back to the queue and goes to the next agent who has not declined it.
    await b.inbox.waitFor((d) => d.kind === 'offer-revoked' && d.offerId === second.offerId, 'the expiry of the offer to B');
    const cAgent = await loginAgent(queueId);
    const third = await cAgent.inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === c.sessionId, 'offer to agent C after the expiry');
    expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId: cAgent.agentId, offerId: third.offerId })).toEqual({ sessionId: c.sessionId });
    // B missed the offer (MAX_MISSED_OFFERS=1 here): B is away until they come back.
    const bEvents = await stack.store.readStream({ aggregate: 'agent', id: b.agentId });
    expect(bEvents.events.map((e) => [e.type, (e.data as { reason?: string }).reason])).toContainEqual(['AgentStateChanged', 'missed-offers']);
    // A stale offer can no longer be accepted.
    expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId: b.agentId, offerId: second.offerId })).toMatchObject({ error: { code: 'not-found' } });
  });
});

describe('projections', () => {
  it("rebuilds reporting's queue projection from sequence 1 to the live one", async () => {
    const live = await stack.request<{ name: string; version: number; position: number; state: unknown }>(SUBJECTS.reportingProjection, {});
    const rebuilt = await ProjectionRunner.rebuild(stack.store, contactCenterProjection(live.name));
    expect(live.position).toBeGreaterThan(0);
    expect(rebuilt.position).toBe(live.position);
    expect(redactCustomerIdentity(rebuilt.state)).toEqual(live.state);
    expect(JSON.stringify(live.state)).not.toMatch(/"customerAddress":"(?!\(redacted\))/);
  });
});
