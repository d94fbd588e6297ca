import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatEstimateScore, scoreEstimates } from './estimate-score.js';
import { computeKpis, formatKpiTable } from './kpis.js';
import { kpiHtmlReport } from './html-report.js';
import type { Row } from './table-schemas.js';

const T = (s: number) => new Date(Date.UTC(2026, 10, 21, 9, 0, 0) + s * 1000).toISOString();
const session = (o: Partial<Row> & { q: number; wait: number | null; assigned?: boolean; abandoned?: boolean; handle?: number }): Row => ({
  session_id: `s${Math.random()}`,
  queue_id: 'q1',
  entry_point_id: 'ep1',
  agent_id: o.assigned ? 'a1' : null,
  queued_at: T(o.q),
  assigned_at: o.assigned ? T(o.q + (o.wait ?? 0)) : null,
  ended_at: o.assigned ? T(o.q + (o.wait ?? 0) + (o.handle ?? 60)) : o.abandoned ? T(o.q + (o.wait ?? 0)) : null,
  wait_seconds: o.wait,
  handle_seconds: o.assigned ? (o.handle ?? 60) : null,
  abandoned: !!o.abandoned,
  transfers: 0,
  first_agent_kind: o.assigned ? 'human' : null,
  handed_to_human: false,
  ...o,
});

const opts = { by: 'queue' as const, intervalSeconds: null, serviceLevelSeconds: 20, shortAbandonSeconds: 5 };

describe('computeKpis', () => {
  it('computes the figures of a small hand-made day', () => {
    const rows = [
      session({ q: 0, wait: 10, assigned: true, handle: 100 }),
      session({ q: 60, wait: 30, assigned: true, handle: 200, transfers: 1 }),
      session({ q: 120, wait: 3, abandoned: true }),
      session({ q: 180, wait: 50, abandoned: true }),
      session({ q: 240, wait: 0, assigned: true, handle: 30, first_agent_kind: 'bot' }),
    ];
    const [k] = computeKpis(rows, [], opts);
    expect(k).toMatchObject({ group: 'q1', offered: 5, answered: 3, abandoned: 2, shortAbandoned: 1, longestWaitSeconds: 50, botContainment: 1 });
    expect(k!.abandonRate).toBeCloseTo(1 / 4);
    expect(k!.averageSpeedOfAnswerSeconds).toBeCloseTo(40 / 3);
    expect(k!.averageHandleSeconds).toBeCloseTo(110);
    expect(k!.serviceLevel).toBeCloseTo(2 / 4);
    expect(k!.transferRate).toBeCloseTo(1 / 3);
    expect(formatKpiTable([k!])).toMatch(/q1\s+all\s+5\s+3\s+2\s+1\s+25\.0%\s+13\.3/);
  });

  it('splits by interval and computes occupancy per agent', () => {
    const rows = [session({ q: 0, wait: 5, assigned: true }), session({ q: 1000, wait: 5, assigned: true })];
    expect(computeKpis(rows, [], { ...opts, intervalSeconds: 900 }).map((r) => [r.intervalStart, r.offered])).toEqual([
      [T(0), 1],
      [T(900), 1],
    ]);
    const states: Row[] = [
      { agent_id: 'a1', state: 'available', started_at: T(0), seconds: 100 },
      { agent_id: 'a1', state: 'busy', started_at: T(100), seconds: 300 },
      { agent_id: 'a1', state: 'away', started_at: T(400), seconds: 500 },
    ];
    expect(computeKpis(rows, states, { ...opts, by: 'agent' })[0]!.occupancy).toBeCloseTo(0.75);
  });

  it('keeps every rate between 0 and 1 and never answers or abandons more than was offered', () => {
    const arb = fc.array(fc.record({ q: fc.integer({ min: 0, max: 7200 }), wait: fc.integer({ min: 0, max: 600 }), outcome: fc.constantFrom('answered', 'abandoned', 'waiting') }), { maxLength: 60 });
    fc.assert(
      fc.property(arb, (xs) => {
        const rows = xs.map((x) => session({ q: x.q, wait: x.outcome === 'waiting' ? null : x.wait, assigned: x.outcome === 'answered', abandoned: x.outcome === 'abandoned' }));
        for (const k of computeKpis(rows, [], { ...opts, intervalSeconds: 900 })) {
          expect(k.answered + k.abandoned).toBeLessThanOrEqual(k.offered);
          for (const r of [k.abandonRate, k.serviceLevel, k.transferRate]) if (r !== null) expect(r >= 0 && r <= 1).toBe(true);
        }
        expect(computeKpis(rows, [], opts).reduce((s, k) => s + k.offered, 0)).toBe(rows.length);
      }),
    );
  });

  it('renders a self-contained HTML page', () => {
    const page = kpiHtmlReport(computeKpis([session({ q: 0, wait: 5, assigned: true })], [], opts), { title: 'KPIs <test>', generatedAt: T(0), by: 'queue', interval: null, serviceLevelSeconds: 20 });
    expect(page).toContain('<svg');
    expect(page).toContain('KPIs &lt;test&gt;');
    expect(page).not.toMatch(/<script|<link/);
  });
});

describe('scoreEstimates', () => {
  it('scores errors, percentages against max(actual, 10 s), and ranges', () => {
    const s = scoreEstimates([
      { estimatedSeconds: 100, actualSeconds: 100, lowSeconds: 80, highSeconds: 120 },
      { estimatedSeconds: 100, actualSeconds: 200, lowSeconds: 80, highSeconds: 120 },
      { estimatedSeconds: 5, actualSeconds: 0 },
      { estimatedSeconds: 60, actualSeconds: null },
    ]);
    expect(s).toMatchObject({ told: 4, scored: 3, medianAbsoluteErrorSeconds: 5, medianAbsolutePercentageError: 0.5, withRange: 2, rangeHit: 0.5 });
    expect(s.within20).toBeCloseTo(1 / 3);
    expect(s.within50).toBeCloseTo(1);
    expect(formatEstimateScore(s)).toContain('median abs % error    50.0%');
  });
});
