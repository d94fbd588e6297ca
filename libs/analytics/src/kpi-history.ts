import type { AnalyticsEvent } from './analytics-event.js';
import { type KpiRow, KpiAccumulator } from './kpis.js';
import { TableBuilder } from './table-builder.js';
import type { Row } from './table-schemas.js';

export interface KpiHistoryQuery {
  /** One queue, or null for every queue together. */
  queueId: string | null;
  /** Sessions queued in [fromMs, toMs) count, each in the interval it was queued. */
  fromMs: number;
  toMs: number;
  /** Interval width; intervals start at `fromMs`. */
  intervalSeconds: number;
  serviceLevelSeconds: number;
  shortAbandonSeconds?: number;
}

export interface KpiHistoryInterval extends Omit<KpiRow, 'group' | 'intervalStart'> {
  from: string;
  to: string;
}

const EMPTY: Omit<KpiRow, 'group' | 'intervalStart'> = {
  offered: 0,
  answered: 0,
  abandoned: 0,
  shortAbandoned: 0,
  abandonRate: null,
  averageSpeedOfAnswerSeconds: null,
  averageHandleSeconds: null,
  serviceLevel: null,
  longestWaitSeconds: null,
  transferRate: null,
  botContainment: null,
  occupancy: null,
};

/**
 * The supervisor dashboard's KPI history, computed by the code `parley kpis` runs: the events fold into the same
 * `sessions` rows (`TableBuilder`) and the figures come from the same `KpiAccumulator`, so the dashboard and the CLI
 * cannot disagree on what ASA or the service level of an interval was. Fed live, one event at a time; keeps one
 * row per ended session (the dashboard's read model keeps every session already) and the open ones in the builder.
 */
export class KpiHistory {
  private readonly ended: Row[] = [];
  private readonly builder = new TableBuilder({ sessions: (row) => this.ended.push(row) });

  apply(e: AnalyticsEvent): void {
    this.builder.apply(e);
  }

  /** Every interval of [fromMs, toMs) (empty ones too, so a chart has no holes) and the whole range. */
  query(q: KpiHistoryQuery): { intervals: KpiHistoryInterval[]; total: KpiHistoryInterval } {
    const common = {
      by: q.queueId === null ? ('all' as const) : ('queue' as const),
      serviceLevelSeconds: q.serviceLevelSeconds,
      shortAbandonSeconds: q.shortAbandonSeconds ?? 5,
      sinceMs: q.fromMs,
      untilMs: q.toMs,
    };
    const perInterval = new KpiAccumulator({ ...common, intervalSeconds: q.intervalSeconds, intervalOriginMs: q.fromMs });
    const whole = new KpiAccumulator({ ...common, intervalSeconds: null });
    const group = q.queueId ?? 'all';
    const add = (row: Row) => {
      if (q.queueId !== null && row.queue_id !== q.queueId) return;
      perInterval.addSession(row);
      whole.addSession(row);
    };
    for (const row of this.ended) add(row);
    for (const row of this.builder.openSessionRows()) add(row);
    const byStart = new Map(
      perInterval
        .result()
        .filter((r) => r.group === group)
        .map((r) => [r.intervalStart, r]),
    );
    const figures = (r: KpiRow | undefined) => {
      if (!r) return { ...EMPTY };
      const { group: _g, intervalStart: _i, ...rest } = r;
      return rest;
    };
    const size = q.intervalSeconds * 1000;
    const intervals: KpiHistoryInterval[] = [];
    for (let t = q.fromMs; t < q.toMs; t += size) {
      const from = new Date(t).toISOString();
      intervals.push({ from, to: new Date(Math.min(q.toMs, t + size)).toISOString(), ...figures(byStart.get(from)) });
    }
    const total = { from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString(), ...figures(whole.result().find((r) => r.group === group)) };
    return { intervals, total };
  }
}
