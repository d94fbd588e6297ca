import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyToView, emptyView } from './contact-center.view.js';
import { type ServingAgent, describeWaitRange, estimateQueueWait, estimateWait } from './wait-estimate.js';

const agent = (capacity: number, busy: number, wrapUpRemainingSeconds = 0): ServingAgent => ({ capacity, busy, wrapUpRemainingSeconds });
const arbAgents = fc.array(fc.record({ capacity: fc.integer({ min: 1, max: 4 }), busy: fc.integer({ min: 0, max: 4 }), wrapUpRemainingSeconds: fc.integer({ min: 0, max: 120 }) }), { maxLength: 8 });
const arbHandles = fc.array(fc.integer({ min: 5, max: 3_600 }), { maxLength: 50 });
const arbDelays = fc.record({ acceptSeconds: fc.integer({ min: 0, max: 30 }), recentMeanWaitSeconds: fc.integer({ min: 0, max: 1_800 }) });
/** A queue as the property tests see it: agents never busier than their capacity, recent handles, abandons and delays. */
const arbInput = fc.tuple(arbAgents, arbHandles, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 50 }), arbDelays).map(([agents, handles, position, abandoned, delays]) => ({
  position,
  agents: agents.map((a) => ({ ...a, busy: Math.min(a.busy, a.capacity) })),
  recentHandleSeconds: handles,
  defaultHandleSeconds: 180,
  recentAbandoned: abandoned,
  recentAnswered: 50,
  ...delays,
}));

describe('estimateWait', () => {
  it('says "now" when a slot is free and the customer is next', () => {
    const e = estimateWait({ position: 0, agents: [agent(2, 1)], recentHandleSeconds: [300], defaultHandleSeconds: 180 });
    expect(e).toMatchObject({ seconds: 0, lowSeconds: 0, basis: 'free-now' });
  });

  it('waits for the end of a wrap-up when the only free slot is in wrap-up', () => {
    const e = estimateWait({ position: 0, agents: [agent(1, 0, 40)], recentHandleSeconds: [300], defaultHandleSeconds: 180 });
    expect(e).toMatchObject({ seconds: 40, basis: 'after-wrap-up' });
  });

  it("drains at the queue's handle time over its busy slots", () => {
    // Two busy single-slot agents, 120 s conversations: the 3rd in line (position 2) needs 3 endings, ~180 s.
    const e = estimateWait({ position: 2, agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [120, 120, 120, 120, 120], defaultHandleSeconds: 60 });
    expect(e.basis).toBe('drain');
    expect(e.seconds).toBeGreaterThanOrEqual(170);
    expect(e.seconds).toBeLessThanOrEqual(190);
    expect(e.lowSeconds).toBeLessThan(e.seconds);
    expect(e.highSeconds).toBeGreaterThan(e.seconds);
  });

  it('gives a wider range for a long-tailed queue than for a regular one with the same mean', () => {
    const regular = estimateWait({ position: 3, agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [100, 100, 100, 100, 100, 100], defaultHandleSeconds: 60 });
    const tailed = estimateWait({ position: 3, agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [20, 20, 20, 20, 20, 500], defaultHandleSeconds: 60 });
    expect(tailed.highSeconds - tailed.lowSeconds).toBeGreaterThan(regular.highSeconds - regular.lowSeconds);
  });

  it('is shorter when customers ahead tend to give up', () => {
    const base = { position: 6, agents: [agent(1, 1)], recentHandleSeconds: [60, 60, 60], defaultHandleSeconds: 60 };
    expect(estimateWait({ ...base, recentAbandoned: 5, recentAnswered: 5 }).seconds).toBeLessThan(estimateWait(base).seconds);
  });

  it("adds the queue's offer-to-accept delay to every wait, and to every slot's cycle", () => {
    expect(estimateWait({ position: 0, agents: [agent(2, 1)], recentHandleSeconds: [300], defaultHandleSeconds: 180, acceptSeconds: 4 })).toMatchObject({ seconds: 4, basis: 'free-now' });
    expect(estimateWait({ position: 0, agents: [agent(1, 0, 40)], recentHandleSeconds: [300], defaultHandleSeconds: 180, acceptSeconds: 4 }).seconds).toBe(44);
    // Two busy slots, 120 s conversations and 10 s accepts: 3 endings of a 130 s cycle over 2 slots (195 s on
    // average; the point is the median, a little under it), then 10 s.
    const e = estimateWait({ position: 2, agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [120, 120, 120, 120, 120], defaultHandleSeconds: 60, acceptSeconds: 10 });
    expect(e.seconds).toBeGreaterThanOrEqual(Math.floor(0.9 * ((3 * 130) / 2) + 10));
    expect(e.seconds).toBeLessThanOrEqual(Math.ceil((3 * 130) / 2 + 10));
    expect(e.lowSeconds).toBeGreaterThanOrEqual(10);
  });

  it("a slot freed by an ending takes the next customer only after that conversation's wrap-up", () => {
    const base = { position: 2, agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [120, 120, 120, 120, 120], defaultHandleSeconds: 60 };
    const without = estimateWait(base);
    const withWrapUp = estimateWait({ ...base, wrapUpSeconds: 20 });
    // The wrap-up lengthens every slot's cycle (3 endings over 2 slots: +30 s on average) and then delays the slot that
    // serves this customer (+20 s).
    expect(withWrapUp.seconds - without.seconds).toBeGreaterThanOrEqual(20 + Math.floor(0.9 * 30));
    expect(withWrapUp.lowSeconds - without.lowSeconds).toBeGreaterThanOrEqual(20);
  });

  it('with a hazard of giving up, the line ahead shrinks more the longer it is', () => {
    const base = { agents: [agent(1, 1), agent(1, 1)], recentHandleSeconds: [120, 120, 120, 120, 120], defaultHandleSeconds: 60, recentAbandoned: 2, recentAnswered: 8, recentMeanWaitSeconds: 120 };
    const none = { ...base, recentAbandoned: 0 };
    const share = (position: number) => estimateWait({ ...base, position }).seconds / estimateWait({ ...none, position }).seconds;
    expect(share(1)).toBeLessThan(1);
    expect(share(20)).toBeLessThan(share(2));
    // Never shorter than serving nobody ahead: one ending of a 120 s cycle over 2 slots.
    expect(estimateWait({ ...base, position: 200 }).seconds).toBeGreaterThanOrEqual(60);
  });

  it('keeps low ≤ point ≤ high, and never tells a customer further back a shorter wait', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const here = estimateWait(input);
        const behind = estimateWait({ ...input, position: input.position + 1 });
        expect(here.lowSeconds).toBeLessThanOrEqual(here.seconds);
        expect(here.seconds).toBeLessThanOrEqual(here.highSeconds);
        expect(behind.seconds).toBeGreaterThanOrEqual(here.seconds);
      }),
    );
  });

  it('never gets longer when an idle agent joins', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const more = { ...input, agents: [...input.agents, agent(1, 0)] };
        expect(estimateWait(more).seconds).toBeLessThanOrEqual(estimateWait(input).seconds);
      }),
    );
  });

  it('describes a range in minutes', () => {
    expect(describeWaitRange({ seconds: 150, lowSeconds: 120, highSeconds: 240, basis: 'drain' })).toBe('about 2–4 minutes');
    expect(describeWaitRange({ seconds: 20, lowSeconds: 0, highSeconds: 40, basis: 'drain' })).toBe('under a minute');
  });
});

describe('estimateQueueWait', () => {
  it("reads the queue's offer-to-accept delays from the events", () => {
    const view = emptyView();
    const at = (s: number) => new Date(Date.UTC(2026, 10, 2, 9, 0, s)).toISOString();
    const profile = { displayName: 'A', kind: 'human', skills: {}, languages: ['en'], capacity: 1, capabilities: [], queues: ['billing'] };
    const apply = (aggregate: string, aggregateId: string, type: string, data: unknown) => applyToView(view, { aggregate, aggregateId, type, data });
    apply('agent', 'a1', 'AgentLoggedIn', { profile, leaseSeconds: 600, expiresAt: at(600), at: at(0) });
    apply('session', 's1', 'SessionOpened', { sessionId: 's1', entryPointId: 'ep', channel: 'web', customerAddress: 'c', sessionAddress: 's', client: null, locale: null, openedAt: at(1) });
    apply('session', 's1', 'SessionQueued', { queueId: 'billing', priority: 0, arrivedAt: at(1), notBefore: null });
    apply('session', 's1', 'SessionOffered', { offerId: 'o1', agentId: 'a1', expiresAt: at(60), at: at(2) });
    apply('agent', 'a1', 'AgentOfferReserved', { offerId: 'o1', sessionId: 's1', expiresAt: at(60) });
    apply('session', 's1', 'SessionAssigned', { offerId: 'o1', agentId: 'a1', at: at(9) });
    expect(view.totals.billing?.recentAccepts).toEqual([7]);
    expect(view.offeredAt?.s1).toBeUndefined();
    apply('agent', 'a1', 'AgentOfferReleased', { offerId: 'o1', outcome: 'accepted' });
    apply('agent', 'a1', 'AgentConversationEnded', { sessionId: 's1', at: at(10), wrapUpUntil: null });
    // The agent is free again: the next customer waits only for the accept.
    expect(estimateQueueWait(view, 'billing', 0, at(11), 180)).toMatchObject({ seconds: 7, basis: 'free-now' });
  });
});
