/** One wait estimate told to a customer, and the wait that followed (null when they gave up or still wait). */
export interface ToldEstimate {
  estimatedSeconds: number;
  lowSeconds?: number | null;
  highSeconds?: number | null;
  actualSeconds: number | null;
}

export interface EstimateScore {
  told: number;
  /** Estimates followed by an answer (only these can be scored). */
  scored: number;
  medianAbsoluteErrorSeconds: number | null;
  /** Percentage errors are relative to the actual wait, floored at `PERCENT_FLOOR_SECONDS`. */
  medianAbsolutePercentageError: number | null;
  within20: number | null;
  within50: number | null;
  withRange: number;
  /** Share of ranged estimates whose actual wait fell inside the range. */
  rangeHit: number | null;
}

/** A wait of a few seconds told as "0" is right for the customer: percentages are taken over at least this. */
export const PERCENT_FLOOR_SECONDS = 10;

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ScoreOptions {
  /**
   * Percentage errors are taken over max(actual, this). A benchmark that runs a day faster than real time scales
   * it with the clock, so a compressed wait is judged as the real one would be.
   */
  percentFloorSeconds?: number;
}

export function scoreEstimates(estimates: Iterable<ToldEstimate>, options: ScoreOptions = {}): EstimateScore {
  const floor = options.percentFloorSeconds ?? PERCENT_FLOOR_SECONDS;
  let told = 0;
  const abs: number[] = [];
  const pct: number[] = [];
  let withRange = 0;
  let hits = 0;
  for (const e of estimates) {
    told++;
    if (e.actualSeconds === null || !Number.isFinite(e.actualSeconds)) continue;
    const err = Math.abs(e.estimatedSeconds - e.actualSeconds);
    abs.push(err);
    pct.push(err / Math.max(floor, e.actualSeconds));
    if (e.lowSeconds != null && e.highSeconds != null) {
      withRange++;
      if (e.actualSeconds >= e.lowSeconds && e.actualSeconds <= e.highSeconds) hits++;
    }
  }
  const share = (pred: (p: number) => boolean) => (pct.length ? pct.filter(pred).length / pct.length : null);
  return {
    told,
    scored: abs.length,
    medianAbsoluteErrorSeconds: median(abs),
    medianAbsolutePercentageError: median(pct),
    within20: share((p) => p <= 0.2),
    within50: share((p) => p <= 0.5),
    withRange,
    rangeHit: withRange ? hits / withRange : null,
  };
}

export function formatEstimateScore(s: EstimateScore): string {
  const pc = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
  return (
    [
      `estimates told        ${s.told}`,
      `scored (answered)     ${s.scored}`,
      `median abs error      ${s.medianAbsoluteErrorSeconds === null ? '-' : `${s.medianAbsoluteErrorSeconds.toFixed(1)} s`}`,
      `median abs % error    ${pc(s.medianAbsolutePercentageError)}`,
      `within ±20%           ${pc(s.within20)}`,
      `within ±50%           ${pc(s.within50)}`,
      `ranges told           ${s.withRange}`,
      `actual inside range   ${pc(s.rangeHit)}`,
    ].join('\n') + '\n'
  );
}
