import type { AgentDelivery } from '@parley/contracts';
import { type AgentCommand, type SessionCommand, agentAggregate, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { type DeliveryPublisher, runConsumer } from '@parley/service-kit';
import { eventually } from '@parley/testing';
import { describe, expect, it } from 'vitest';
import { AgentFollowUps, SessionFollowUps } from './offer.process-manager.js';
import type { RouterConfig } from './router.config.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const core = (id: string) => ({
  sessionId: id,
  entryPointId: 'ep',
  channel: 'web',
  customerAddress: `${id}@customers.test`,
  sessionAddress: `s-${id}@acme.test`,
  client: null,
  locale: 'de',
  openedAt: at(0),
});
const profile = { displayName: 'Alex', kind: 'human' as const, skills: {}, languages: [], capacity: 2, capabilities: [], queues: null };

const until = (probe: () => boolean, what: string) => eventually(probe, (x) => x, what);

function world() {
  const store = new InMemoryEventStore();
  const commands = new CommandHandler(store);
  const sent: (AgentDelivery & { to: string })[] = [];
  const deliveries = { toAgent: async (to: string, d: AgentDelivery) => void sent.push({ ...d, to }) } as unknown as DeliveryPublisher;
  const session = (id: string, c: SessionCommand, n: string, s: number) => commands.handle(sessionAggregate.stream(id), c, ctx(n, s));
  const agent = (c: AgentCommand, n: string, s: number) => commands.handle(agentAggregate.stream('alex'), c, ctx(n, s));
  const agentState = async () => (await new CommandHandler(store).load(agentAggregate.stream('alex'))).state;
  return { store, commands, sent, deliveries, session, agent, agentState };
}

const open = (id: string): SessionCommand => ({
  kind: 'open',
  core: core(id),
  route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } },
  intake: null,
  notBefore: null,
});

describe('router session follow-ups (in-memory store)', () => {
  it('delivers an offer with the customer details, turns an accept into a conversation and frees it at the end', async () => {
    const w = world();
    const pm = await runConsumer(w.store, new SessionFollowUps(w.commands, w.deliveries, { MAX_MISSED_OFFERS: 3 } as RouterConfig));
    await w.agent({ kind: 'login', profile, leaseSeconds: 60, now: at(0) }, 'login', 0);
    await w.session('s1', open('s1'), 'open', 0);
    await w.agent({ kind: 'reserve-offer', offerId: 'o1', sessionId: 's1', expiresAt: at(30), now: at(1) }, 'reserve', 1);
    await w.session('s1', { kind: 'offer', offerId: 'o1', agentId: 'alex', expiresAt: at(30), now: at(1) }, 'offer', 1);
    await until(() => w.sent.length === 1, 'the offer');
    expect(w.sent[0]).toMatchObject({ to: 'alex', kind: 'offer', offerId: 'o1', from: 's-s1@acme.test', customer: { channel: 'web', locale: 'de' } });
    expect(JSON.stringify(w.sent[0])).not.toContain('s1@customers.test');
    await w.session('s1', { kind: 'accept-offer', offerId: 'o1', agentId: 'alex', now: at(2) }, 'accept', 2);
    let state = await eventually(w.agentState, (a) => a.status === 'available' && a.conversations.includes('s1'), 'the conversation');
    expect(state).toMatchObject({ status: 'available', conversations: ['s1'], reservations: [] });
    await w.session('s1', { kind: 'end', endedBy: 'customer', agentId: null, from: 's1@customers.test', channel: 'web', reason: 'bye', disposition: null, now: at(3) }, 'end', 3);
    state = await eventually(w.agentState, (a) => a.status === 'available' && a.conversations.length === 0, 'the end of the conversation');
    expect(state).toMatchObject({ status: 'available', conversations: [] });
    await pm.stop();
  });

  it('releases the reservation of a declined offer and tells the agent when it was not their own refusal', async () => {
    const w = world();
    const pm = await runConsumer(w.store, new SessionFollowUps(w.commands, w.deliveries, { MAX_MISSED_OFFERS: 3 } as RouterConfig));
    await w.agent({ kind: 'login', profile, leaseSeconds: 60, now: at(0) }, 'login', 0);
    await w.session('s2', open('s2'), 'open', 0);
    await w.agent({ kind: 'reserve-offer', offerId: 'o2', sessionId: 's2', expiresAt: at(30), now: at(1) }, 'reserve', 1);
    await w.session('s2', { kind: 'offer', offerId: 'o2', agentId: 'alex', expiresAt: at(30), now: at(1) }, 'offer', 1);
    await w.session('s2', { kind: 'decline-offer', offerId: 'o2', agentId: null, outcome: 'expired', reason: 'timed out', now: at(31) }, 'expire', 31);
    await until(() => w.sent.some((d) => d.kind === 'offer-revoked'), 'the revocation');
    const state = await eventually(w.agentState, (a) => a.status === 'available' && a.reservations.length === 0, 'the release');
    expect(state).toMatchObject({ status: 'available', reservations: [], missedOffers: 1 });
    await pm.stop();
  });
});

describe('router agent follow-ups (in-memory store)', () => {
  it('withdraws the offers in hand of an agent who goes away, from the agent stream alone', async () => {
    const w = world();
    const pm = await runConsumer(w.store, new AgentFollowUps(w.commands));
    await w.agent({ kind: 'login', profile, leaseSeconds: 60, now: at(0) }, 'login', 0);
    await w.session('s3', open('s3'), 'open', 0);
    await w.agent({ kind: 'reserve-offer', offerId: 'o3', sessionId: 's3', expiresAt: at(30), now: at(1) }, 'reserve', 1);
    await w.session('s3', { kind: 'offer', offerId: 'o3', agentId: 'alex', expiresAt: at(30), now: at(1) }, 'offer', 1);
    await w.agent({ kind: 'change-state', state: 'away', reason: 'lunch', now: at(2) }, 'away', 2);
    const state = await eventually(
      async () => (await new CommandHandler(w.store).load(sessionAggregate.stream('s3'))).state,
      (s) => s.status === 'queued' && !s.offer,
      'the withdrawal',
    );
    expect(state).toMatchObject({ status: 'queued', offer: null });
    await pm.stop();
  });
});
