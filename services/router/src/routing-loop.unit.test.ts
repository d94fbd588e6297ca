import type { CenterSettings } from '@parley/center-config';
import { type AgentCommand, type SessionCommand, agentAggregate, applyToView, emptyView, sessionAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OfferMetrics } from './offer-metrics.js';
import type { QueueLeases } from './queue-leases.service.js';
import type { RouterConfig } from './router.config.js';
import { RoutingLoop } from './routing-loop.service.js';
import type { RoutingViewService } from './routing-view.service.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s)).toISOString();
const ctx = (id: string, s: number) => ({ commandId: id, metadata: { correlationId: id, at: at(s), actor: 'test' } });
const profile = { displayName: 'Alex', kind: 'human' as const, skills: {}, languages: [], capacity: 2, capabilities: [], queues: null };
const open = (id: string): SessionCommand => ({
  kind: 'open',
  core: { sessionId: id, entryPointId: 'ep', channel: 'web', customerAddress: `${id}@customers.test`, sessionAddress: `s-${id}@acme.test`, client: null, locale: null, openedAt: at(0) },
  route: { queueId: 'q', priority: 0, requirements: { skills: {}, language: null, capabilities: [] } },
  intake: null,
  notBefore: null,
});

/** The router's loop on the in-memory store; its view is the log folded up to the moment `fold` is called. */
function world() {
  const store = new InMemoryEventStore();
  const commands = new CommandHandler(store);
  let view = emptyView();
  const fold = async () => {
    view = emptyView();
    for await (const e of store.readAll({ fromPosition: 1 })) applyToView(view, e);
  };
  let nowSeconds = 0;
  let strayCount = 0;
  const loop = new RoutingLoop(
    {
      runner: {
        get state() {
          return view;
        },
        onApplied: () => () => undefined,
      },
    } as unknown as RoutingViewService,
    commands,
    { queues: new Set<string>(), onChange: () => undefined, onRelease: () => undefined } as unknown as QueueLeases,
    { OFFER_TIMEOUT_SECONDS: 30, DECLINE_COOLDOWN_SECONDS: 60, MAX_MISSED_OFFERS: 3, ROUTING_TICK_MS: 250, SESSION_IDLE_WARN_SECONDS: 600, SESSION_IDLE_END_SECONDS: 900 } as RouterConfig,
    { routingOf: () => undefined, idleTimeoutFor: () => undefined } as unknown as CenterSettings,
    { now: () => at(nowSeconds) },
    { offers: { inc: () => undefined }, strayConversations: { inc: () => void strayCount++ } } as unknown as OfferMetrics,
  );
  // A full pass at the given second (the first pass of a loop is always a full one; later ones a second apart).
  const passAt = async (s: number) => {
    nowSeconds = s;
    await (loop as unknown as { pass(): Promise<void> }).pass();
  };
  const session = (id: string, c: SessionCommand, n: string, s: number) => commands.handle(sessionAggregate.stream(id), c, ctx(n, s));
  const agent = (c: AgentCommand, n: string, s: number) => commands.handle(agentAggregate.stream('alex'), c, ctx(n, s));
  const conversations = async () => {
    const { state } = await new CommandHandler(store).load(agentAggregate.stream('alex'));
    return state.status === 'unknown' ? [] : state.conversations;
  };
  return { store, fold, passAt, session, agent, conversations, strays: () => strayCount };
}

/** alex logged in and in a conversation with `id`, as the session's follow-ups leave it. */
async function assigned(w: ReturnType<typeof world>, id: string) {
  await w.session(id, open(id), `open-${id}`, 0);
  await w.agent({ kind: 'reserve-offer', offerId: `o-${id}`, sessionId: id, expiresAt: at(30), now: at(1) }, `reserve-${id}`, 1);
  await w.session(id, { kind: 'offer', offerId: `o-${id}`, agentId: 'alex', expiresAt: at(30), now: at(1) }, `offer-${id}`, 1);
  await w.session(id, { kind: 'accept-offer', offerId: `o-${id}`, agentId: 'alex', now: at(2) }, `accept-${id}`, 2);
  await w.agent({ kind: 'start-conversation', sessionId: id, offerId: `o-${id}` }, `start-${id}`, 2);
}

afterEach(() => vi.restoreAllMocks());

describe('the routing loop ends stray conversations', () => {
  it('ends a conversation whose session ended without its follow-up, after the grace, once, and counts it once', async () => {
    // Its warning is what an operator sees: taken here (and checked) rather than printed amid the test output.
    const warnings = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const w = world();
    await w.agent({ kind: 'login', profile, leaseSeconds: 3_600, now: at(0) }, 'login', 0);
    await assigned(w, 's1');
    // The session ends and its follow-up never ends the agent's conversation (lost in a fault).
    await w.session('s1', { kind: 'end', endedBy: 'customer', agentId: null, from: 's1@customers.test', channel: 'web', reason: 'bye', disposition: null, now: at(3) }, 'end-s1', 3);
    await w.fold();
    await w.passAt(10); // first seen
    await w.passAt(15);
    expect(await w.conversations()).toEqual(['s1']);
    await w.passAt(21); // 11 s after it was first seen
    expect(await w.conversations()).toEqual([]);
    expect(w.strays()).toBe(1);
    // The view has not caught up yet: the next pass finds it stray again, ends nothing and counts nothing.
    await w.passAt(22);
    expect(w.strays()).toBe(1);
    expect(warnings.mock.calls.map(([line]) => line)).toEqual([expect.objectContaining({ msg: expect.stringMatching(/^ended a stray conversation/), agentId: 'alex', sessionId: 's1' })]);
  });

  it('leaves alone a conversation the view shows stray while the session, read afresh, is assigned to the agent', async () => {
    const w = world();
    await w.agent({ kind: 'login', profile, leaseSeconds: 3_600, now: at(0) }, 'login', 0);
    await assigned(w, 's2');
    await w.session('s2', { kind: 'transfer', agentId: 'alex', toQueueId: 'q', toAgentId: null, reason: null, now: at(4) }, 'transfer-s2', 4);
    await w.fold(); // the view: s2 queued again after its transfer, alex still holding it
    // Before the view sees more: the transfer's follow-up ends the conversation, and s2 comes back to alex.
    await w.agent({ kind: 'end-conversation', sessionId: 's2', now: at(4) }, 'end-conv-s2', 4);
    await w.agent({ kind: 'reserve-offer', offerId: 'o-s2b', sessionId: 's2', expiresAt: at(40), now: at(5) }, 'reserve-s2b', 5);
    await w.session('s2', { kind: 'offer', offerId: 'o-s2b', agentId: 'alex', expiresAt: at(40), now: at(5) }, 'offer-s2b', 5);
    await w.session('s2', { kind: 'accept-offer', offerId: 'o-s2b', agentId: 'alex', now: at(6) }, 'accept-s2b', 6);
    await w.agent({ kind: 'start-conversation', sessionId: 's2', offerId: 'o-s2b' }, 'start-s2b', 6);
    await w.passAt(10);
    await w.passAt(30);
    expect(await w.conversations()).toEqual(['s2']);
    expect(w.strays()).toBe(0);
  });
});
