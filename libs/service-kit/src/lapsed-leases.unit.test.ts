import { describe, expect, it } from 'vitest';
import { LapsedLeases, renewalPeriodMs } from './lapsed-leases.js';

describe('LapsedLeases', () => {
  it('lets a key never seen held, or handed back, be taken at once', () => {
    const leases = new LapsedLeases(() => 1_000);
    expect(leases.mayTake('a', false, 0)).toBe(true);
    leases.heldByOther('b');
    expect(leases.mayTake('b', true, 0)).toBe(true);
  });

  it('leaves a lapsed key to its holder for the grace period, counted from when it was first seen free', () => {
    const leases = new LapsedLeases(() => 1_000);
    leases.heldByOther('q');
    expect(leases.mayTake('q', false, 5_000)).toBe(false);
    expect(leases.mayTake('q', false, 5_999)).toBe(false);
    expect(leases.mayTake('q', false, 6_000)).toBe(true);
    // Held again by someone: the grace starts over at the next lapse.
    leases.heldByOther('q');
    expect(leases.mayTake('q', false, 7_000)).toBe(false);
    leases.forget('q');
    expect(leases.mayTake('q', false, 7_001)).toBe(true);
  });

  it('renews three times per lease, at most five times a second', () => {
    expect(renewalPeriodMs(30)).toBe(10_000);
    expect(renewalPeriodMs(0.3)).toBe(200);
  });
});
