import { describe, expect, it } from 'vitest';
import { PERCENT_FLOOR_SECONDS, scoreEstimates } from './estimate-score.js';

describe('scoreEstimates', () => {
  it('scores answered estimates only, with percentages over max(actual, the floor)', () => {
    const s = scoreEstimates([
      { estimatedSeconds: 100, lowSeconds: 80, highSeconds: 120, actualSeconds: 110 }, // 10 s off, 9.1%, inside
      { estimatedSeconds: 0, lowSeconds: 0, highSeconds: 5, actualSeconds: 4 }, // 4 s off, over the 10 s floor: 40%
      { estimatedSeconds: 60, lowSeconds: 50, highSeconds: 70, actualSeconds: 90 }, // 30 s off, 33.3%, outside
      { estimatedSeconds: 30, actualSeconds: null }, // gave up: told, not scored
    ]);
    expect(PERCENT_FLOOR_SECONDS).toBe(10);
    expect(s).toMatchObject({ told: 4, scored: 3, medianAbsoluteErrorSeconds: 10, withRange: 3 });
    expect(s.medianAbsolutePercentageError).toBeCloseTo(1 / 3, 5);
    expect(s.within20).toBeCloseTo(1 / 3, 5);
    expect(s.within50).toBe(1);
    expect(s.rangeHit).toBeCloseTo(2 / 3, 5);
  });

  it('takes another floor for a run faster than real time', () => {
    const told = [{ estimatedSeconds: 2, actualSeconds: 1 }];
    expect(scoreEstimates(told).medianAbsolutePercentageError).toBeCloseTo(0.1, 5);
    expect(scoreEstimates(told, { percentFloorSeconds: 1 }).medianAbsolutePercentageError).toBeCloseTo(1, 5);
  });
});
