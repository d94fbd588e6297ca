import fc from 'fast-check';
import { estimateWait, estimateWaitSeconds, queueSnapshot, servingAgentsOf } from '@parley/domain';
import { describe, expect, it } from 'vitest';
import type { AnalyticsEvent } from './analytics-event.js';
import { scoreEstimates } from './estimate-score.js';
import { DEFAULT_KPI_OPTIONS, computeKpis } from './kpis.js';
import { RecordedRun, applyRosterChanges, withinReplayTolerance } from './recorded-run.js';
import { DEFAULT_WORKLOAD, syntheticWorkload } from './synthetic-workload.js';
import { type EstimatorContext, simulate } from './whatif-simulator.js';

const small = { ...DEFAULT_WORKLOAD, hours: 2, peakPerHour: 60, agentsPerQueue: 3 };

describe('simulate', () => {
  it('gives every arrival one session row, each either answered, abandoned or still waiting', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2 }), (seed, agents, capacity) => {
        const { arrivals, roster } = syntheticWorkload({ ...small, seed, hours: 1, agentsPerQueue: agents, capacity });
        const { sessions } = simulate(arrivals, roster);
        expect(sessions).toHaveLength(arrivals.length);
        expect(new Set(sessions.map((s) => s.session_id)).size).toBe(arrivals.length);
        for (const s of sessions) expect(Number(!!s.assigned_at) + Number(s.abandoned)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 8 },
    );
  });

  it('never has an agent in more conversations than their capacity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 3 }), (seed, capacity) => {
        const { arrivals, roster } = syntheticWorkload({ ...small, seed, hours: 1, capacity });
        const { agentStates } = simulate(arrivals, roster);
        for (const a of agentStates) expect(a.conversations as number).toBeLessThanOrEqual(capacity);
      }),
      { numRuns: 10 },
    );
  });

  it('replays a recorded run with the same roster to the same ASA and abandon rate (within the stated tolerance)', () => {
    const { arrivals, roster } = syntheticWorkload(small);
    const events: AnalyticsEvent[] = [];
    const original = simulate(arrivals, roster, { onEvent: (e) => events.push(e) });
    const run = new RecordedRun();
    for (const e of events) run.apply(e);
    const replay = simulate(run.arrivals(), run.roster());
    const opts = { ...DEFAULT_KPI_OPTIONS, by: 'queue' as const };
    const recorded = computeKpis(run.finish().sessions, [], opts);
    const replayed = computeKpis(replay.sessions, [], opts);
    expect(recorded.map((r) => r.group)).toEqual(['billing', 'support']);
    for (const r of recorded)
      expect(
        withinReplayTolerance(
          r,
          replayed.find((p) => p.group === r.group)!,
        ),
      ).toBe(true);
    expect(original.sessions.length).toBe(replay.sessions.length);
  });

  it('lowers the average speed of answer with two more agents', () => {
    const { arrivals, roster } = syntheticWorkload(small);
    const base = computeKpis(simulate(arrivals, roster).sessions, [], DEFAULT_KPI_OPTIONS);
    const more = applyRosterChanges(
      roster,
      {
        add: [
          { agentId: 'x1', like: 'billing-agent-1' },
          { agentId: 'x2', like: 'billing-agent-1' },
        ],
      },
      small.startMs,
    );
    const after = computeKpis(simulate(arrivals, more).sessions, [], DEFAULT_KPI_OPTIONS);
    const asa = (rows: typeof base) => rows.find((r) => r.group === 'billing')!.averageSpeedOfAnswerSeconds!;
    expect(asa(after)).toBeLessThan(asa(base));
  });

  it('refuses roster changes naming agents the run does not have', () => {
    const { roster } = syntheticWorkload(small);
    expect(() => applyRosterChanges(roster, { remove: ['nobody'] }, 0)).toThrow(/no agent nobody/);
    expect(() => applyRosterChanges(roster, { add: [{ agentId: 'n', like: 'ghost' }] }, 0)).toThrow(/like names no agent ghost/);
  });

  it('scores the honest estimator better than the old formula on a long-tailed day', () => {
    const { arrivals, roster } = syntheticWorkload({ ...DEFAULT_WORKLOAD, hours: 2 });
    const honest = (c: EstimatorContext) =>
      estimateWait({
        position: c.position,
        agents: servingAgentsOf(c.view, c.queueId, c.now),
        recentHandleSeconds: c.recentHandleSeconds,
        defaultHandleSeconds: 180,
        wrapUpSeconds: 20,
        recentAbandoned: c.recentAbandoned,
        recentAnswered: c.recentAnswered,
      });
    const legacy = (c: EstimatorContext) => ({ seconds: estimateWaitSeconds(queueSnapshot(c.view, c.queueId, c.now), c.position, 180) });
    const { estimates } = simulate(arrivals, roster, { estimators: { honest, legacy } });
    const h = scoreEstimates(estimates.honest!);
    const l = scoreEstimates(estimates.legacy!);
    expect(h.scored).toBeGreaterThan(100);
    expect(h.medianAbsolutePercentageError!).toBeLessThan(l.medianAbsolutePercentageError!);
    expect(h.rangeHit!).toBeGreaterThan(0.6);
  });
});
