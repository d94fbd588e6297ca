import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckFloor } from './ack-floor.js';

describe('AckFloor', () => {
  it('acknowledges nothing while the lowest message is still in hand, then the highest handled', () => {
    const floor = new AckFloor<string>();
    for (const seq of [1, 2, 3]) floor.take(seq);
    floor.handle(2, 'm2');
    floor.handle(3, 'm3');
    expect(floor.next()).toBeUndefined();
    expect(floor.unacknowledged).toBe(3);
    floor.handle(1, 'm1');
    expect(floor.next()).toBe('m3');
    expect(floor.next()).toBeUndefined();
    expect(floor.unacknowledged).toBe(0);
  });

  it('stops below a message that is never handled (a lane given up on at a stop)', () => {
    const floor = new AckFloor<string>();
    for (const seq of [5, 6, 7, 8]) floor.take(seq);
    floor.handle(5, 'm5');
    floor.handle(7, 'm7');
    floor.handle(8, 'm8');
    expect(floor.next()).toBe('m5');
    expect(floor.unacknowledged).toBe(3);
  });

  it('refuses a message delivered again while it is in hand or handled and not yet acknowledged', () => {
    const floor = new AckFloor<string>();
    expect(floor.take(1)).toBe(true);
    expect(floor.take(2)).toBe(true);
    expect(floor.take(1)).toBe(false);
    floor.handle(2, 'm2');
    expect(floor.take(2)).toBe(false);
    floor.handle(1, 'm1');
    expect(floor.next()).toBe('m2');
    // Acknowledged: the server never sends it again, and if a late copy came it would be new to the floor.
    expect(floor.unacknowledged).toBe(0);
  });

  it('ignores a handle for a message it does not hold', () => {
    const floor = new AckFloor<string>();
    floor.handle(9, 'm9');
    expect(floor.next()).toBeUndefined();
    expect(floor.unacknowledged).toBe(0);
  });

  // The invariant that makes ack-all safe: an acknowledgement never covers a message still in hand, and once
  // everything is handled the last acknowledgement covers the highest message.
  it('never covers a message in hand, and covers everything once all is handled (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), (delivered, picks) => {
        const floor = new AckFloor<number>();
        const inHand = new Set<number>();
        const covered: number[] = [];
        for (const seq of delivered) {
          expect(floor.take(seq)).toBe(true);
          inHand.add(seq);
        }
        const order = [...inHand];
        for (const pick of picks) {
          if (order.length === 0) break;
          const [seq] = order.splice(pick % order.length, 1);
          floor.handle(seq!, seq!);
          inHand.delete(seq!);
          const acked = floor.next();
          if (acked !== undefined) {
            for (const still of inHand) expect(still).toBeGreaterThan(acked);
            covered.push(acked);
          }
        }
        for (const seq of order) {
          floor.handle(seq, seq);
          const acked = floor.next();
          if (acked !== undefined) covered.push(acked);
        }
        expect(floor.unacknowledged).toBe(0);
        expect(covered.at(-1)).toBe(Math.max(...delivered));
        // Each acknowledgement covers more than the one before.
        for (let i = 1; i < covered.length; i++) expect(covered[i]!).toBeGreaterThan(covered[i - 1]!);
      }),
      { numRuns: 300 },
    );
  });
});
