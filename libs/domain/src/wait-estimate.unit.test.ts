import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ServingAgent, describeWaitRange, estimateWait } from './wait-estimate.js';

const agent = (capacity: number, busy: number, wrapUpRemainingSeconds = 0): ServingAgent => ({ capacity, busy, wrapUpRemainingSeconds });
const arbAgents = fc.array(fc.record({ capacity: fc.integer({ min: 1, max: 4 }), busy: fc.integer({ min: 0, max: 4 }), wrapUpRemainingSeconds: fc.integer({ min: 0, max: 120 }) }), { maxLength: 8 });
const arbHandles = fc.array(fc.integer({ min: 5, max: 3_600 }), { maxLength: 50 });

describe('estimateWait', () => {
  it('says "now" when a slot is free and the customer is next', () => {
    const e = estimateWait({ position: 0, agents: [agent(2, 1)], recentHandleSeconds: [300], defaultHandleSeconds: 180 });
    expect(e).toMatchObject({ seconds: 0, lowSeconds: 0, basis: 'free-now' });
  });

  it('waits for the end of a wrap-up when the only free slot is in wrap-up', () => {
    const e = estimateWait({ position: 0, agents: [agent(1, 0, 40)], recentHandleSeconds: [300], defaultHandleSeconds: 180 });
    expect(e).toMatchObject({ seconds: 40, basis: 'after-wrap-up' });
  });

  it('drains at the queue\'s handle time over its busy slots', () => {
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

  it('keeps low ≤ point ≤ high, and never tells a customer further back a shorter wait', () => {
    fc.assert(
      fc.property(arbAgents, arbHandles, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 50 }), (agents, handles, position, abandoned) => {
        const input = { agents: agents.map((a) => ({ ...a, busy: Math.min(a.busy, a.capacity) })), recentHandleSeconds: handles, defaultHandleSeconds: 180, recentAbandoned: abandoned, recentAnswered: 50 };
        const here = estimateWait({ ...input, position });
        const behind = estimateWait({ ...input, position: position + 1 });
        expect(here.lowSeconds).toBeLessThanOrEqual(here.seconds);
        expect(here.seconds).toBeLessThanOrEqual(here.highSeconds);
        expect(behind.seconds).toBeGreaterThanOrEqual(here.seconds);
      }),
    );
  });

  it('never gets longer when an idle agent joins', () => {
    fc.assert(
      fc.property(arbAgents, arbHandles, fc.integer({ min: 0, max: 40 }), (agents, handles, position) => {
        const input = { position, agents: agents.map((a) => ({ ...a, busy: Math.min(a.busy, a.capacity) })), recentHandleSeconds: handles, defaultHandleSeconds: 180 };
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
