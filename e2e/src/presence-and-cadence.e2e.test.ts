import { SUBJECTS } from '@parley/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

let stack: ParleyStack;

beforeAll(async () => {
  stack = await ParleyStack.start({ STATUS_INTERVAL_SECONDS: '1', OFFER_TIMEOUT_SECONDS: '30', LEASE_SWEEP_INTERVAL_MS: '100', ROUTING_TICK_MS: '100' });
});

afterAll(async () => {
  await stack?.stop();
});

const login = (agentId: string, queueId: string, leaseSeconds = 600) =>
  stack.request(SUBJECTS.agentLogin, { agentId, displayName: agentId, kind: 'human', skills: {}, languages: ['en'], capacity: 1, capabilities: [], queues: [queueId], leaseSeconds });
const agentEvents = async (agentId: string) => (await stack.store.readStream({ aggregate: 'agent', id: agentId })).events.map((e) => e.type);

describe('agent presence', () => {
  it('takes a lost agent offline and withdraws the offer in hand, which goes to another agent', async () => {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-lost', address: 'lost@support.example.test', queueId: 'q-lost', leaseSeconds: 600 });
    const lost = await stack.agentInbox('lost-agent');
    // A 5 s lease: long enough for the offer to be made on a loaded machine, short enough to watch it run out.
    await login('lost-agent', 'q-lost', 5);
    const c = await stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'lost', from: 'carl@customers.example.test', to: 'lost@support.example.test' });
    const offer = await lost.waitFor((d) => d.kind === 'offer', 'the offer to the agent who will vanish');
    // No heartbeat: the lease runs out, the agent goes offline and the offer is revoked.
    await lost.waitFor((d) => d.kind === 'offer-revoked' && d.offerId === offer.offerId, 'the offer to be withdrawn', 25_000);
    expect(await agentEvents('lost-agent')).toContain('AgentLoggedOut');
    expect(await stack.request(SUBJECTS.agentHeartbeat, { agentId: 'lost-agent' })).toMatchObject({ error: { code: 'not-found' } });
    const other = await stack.agentInbox('steady-agent');
    await login('steady-agent', 'q-lost');
    const again = await other.waitFor((d) => d.kind === 'offer', 'the re-offer to a present agent');
    expect(again.sessionId).toBe(c.sessionId);
  });

  it('offers nothing to an away agent, resumes when available, and logs out', async () => {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-away', address: 'away@support.example.test', queueId: 'q-away', leaseSeconds: 600 });
    const inbox = await stack.agentInbox('away-agent');
    await login('away-agent', 'q-away');
    expect(await stack.request(SUBJECTS.agentState, { agentId: 'away-agent', state: 'away', reason: 'lunch' })).toEqual({ agentId: 'away-agent', state: 'away' });
    const c = await stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'away', from: 'dora@customers.example.test', to: 'away@support.example.test' });
    // Reporting's figures follow the events (no position to wait for in the query): read until the session is in.
    const stats = await until(async () => {
      const s = await stack.request<{ waiting: number; agentsAvailable: number }>(`parley.v1.stats.queue.q-away`, {});
      return s.waiting === 1 ? s : undefined;
    }, 'the waiting customer in the queue figures');
    expect(stats).toMatchObject({ waiting: 1, agentsAvailable: 0 });
    expect(inbox.items.filter((d) => d.kind === 'offer')).toHaveLength(0);
    await stack.request(SUBJECTS.agentState, { agentId: 'away-agent', state: 'available' });
    const offer = await inbox.waitFor((d) => d.kind === 'offer', 'an offer once available');
    expect(offer.sessionId).toBe(c.sessionId);
    expect(await stack.request(SUBJECTS.agentState, { agentId: 'away-agent', state: 'offline' })).toEqual({ agentId: 'away-agent', state: 'offline' });
    const events = await agentEvents('away-agent');
    expect(events).toEqual(expect.arrayContaining(['AgentLoggedIn', 'AgentStateChanged', 'AgentLoggedOut']));
    await inbox.waitFor((d) => d.kind === 'offer-revoked', 'the offer withdrawn at logout');
  });
});

describe('waiting customers', () => {
  it('hears their position again at the configured cadence, and moves up when someone ahead abandons', async () => {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'ep-wait', address: 'wait@support.example.test', queueId: 'q-wait', leaseSeconds: 600 });
    const customers = await stack.customerInbox('wait');
    const first = await stack.request<{ sessionId: string; sessionAddress: string }>(SUBJECTS.imSubscribe, { channel: 'wait', from: 'eve@customers.example.test', to: 'wait@support.example.test' });
    const second = await stack.request<{ sessionId: string }>(SUBJECTS.imSubscribe, { channel: 'wait', from: 'finn@customers.example.test', to: 'wait@support.example.test' });
    const statuses = (sessionId: string, position: number) => customers.items.filter((d) => d.sessionId === sessionId && d.kind === 'status' && d.status?.position === position);
    await until(() => statuses(second.sessionId, 1).length >= 3 || undefined, 'three reports of position 1 at a 1 s cadence', 15_000);
    const ids = statuses(second.sessionId, 1).map((d) => d.deliveryId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await stack.request(SUBJECTS.imUnsubscribe, { channel: 'wait', from: 'eve@customers.example.test', to: first.sessionAddress })).toEqual({ sessionId: first.sessionId, state: 'abandoned' });
    await until(() => statuses(second.sessionId, 0).length > 0 || undefined, 'position 0 after the customer ahead left');
    const ended = (await stack.store.readStream({ aggregate: 'session', id: first.sessionId })).events.at(-1)!;
    expect(ended).toMatchObject({ type: 'SessionEnded', data: { abandoned: true, endedBy: 'customer' } });
    expect(await stack.request(`parley.v1.stats.queue.q-wait`, {})).toMatchObject({ waiting: 1 });
  });
});
