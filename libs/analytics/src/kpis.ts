import type { Row } from './table-schemas.js';

/** `all`: one group for every queue together (the dashboard's "all queues"). */
export type KpiGrouping = 'queue' | 'agent' | 'entry-point' | 'all';

export interface KpiOptions {
  by: KpiGrouping;
  /** Bucket width in seconds; null: one bucket for the whole range. */
  intervalSeconds: number | null;
  /** Answered within this many seconds counts towards the service level. */
  serviceLevelSeconds: number;
  /** Abandons quicker than this are "short" (a customer who changed their mind): counted apart. */
  shortAbandonSeconds: number;
  sinceMs?: number | null;
  untilMs?: number | null;
  /** Intervals start at this instant plus whole intervals (default: the epoch, i.e. round clock times). */
  intervalOriginMs?: number;
}

export const DEFAULT_KPI_OPTIONS: KpiOptions = { by: 'queue', intervalSeconds: null, serviceLevelSeconds: 20, shortAbandonSeconds: 5 };

/** The figures of one group in one interval. Rates are 0..1; null when there is nothing to divide by. */
export interface KpiRow {
  group: string;
  intervalStart: string | null;
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  /** Abandoned (short ones apart) ÷ offered (short ones apart). */
  abandonRate: number | null;
  averageSpeedOfAnswerSeconds: number | null;
  averageHandleSeconds: number | null;
  /** Answered within T ÷ offered (short abandons apart). */
  serviceLevel: number | null;
  longestWaitSeconds: number | null;
  transferRate: number | null;
  /** Sessions a bot took that never went to a person ÷ sessions a bot took. */
  botContainment: number | null;
  /** Per agent (with `by: agent`): busy time ÷ time available, busy or in wrap-up. */
  occupancy: number | null;
}

interface Acc {
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandoned: number;
  waitSum: number;
  handleSum: number;
  handled: number;
  withinT: number;
  longest: number | null;
  transferred: number;
  botTaken: number;
  botContained: number;
  busySeconds: number;
  staffedSeconds: number;
}

const newAcc = (): Acc => ({
  offered: 0,
  answered: 0,
  abandoned: 0,
  shortAbandoned: 0,
  waitSum: 0,
  handleSum: 0,
  handled: 0,
  withinT: 0,
  longest: null,
  transferred: 0,
  botTaken: 0,
  botContained: 0,
  busySeconds: 0,
  staffedSeconds: 0,
});

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/**
 * Contact-center figures from the `sessions` and `agent_states` tables, one row per group and interval.
 * Streaming: add rows in any order, read the result at the end. A session counts in the interval it was queued.
 */
export class KpiAccumulator {
  private readonly accs = new Map<string, Acc>();

  constructor(private readonly options: KpiOptions) {}

  private bucket(instant: string): string | null {
    const { intervalSeconds } = this.options;
    if (!intervalSeconds) return null;
    const origin = this.options.intervalOriginMs ?? 0;
    const size = intervalSeconds * 1000;
    return new Date(origin + Math.floor((Date.parse(instant) - origin) / size) * size).toISOString();
  }

  private inRange(instant: string): boolean {
    const t = Date.parse(instant);
    return (this.options.sinceMs == null || t >= this.options.sinceMs) && (this.options.untilMs == null || t < this.options.untilMs);
  }

  private acc(group: string, bucket: string | null): Acc {
    const key = `${group}\u0000${bucket ?? ''}`;
    let a = this.accs.get(key);
    if (!a) this.accs.set(key, (a = newAcc()));
    return a;
  }

  addSession(row: Row): void {
    const queuedAt = row.queued_at as string | null;
    if (!queuedAt || !this.inRange(queuedAt)) return;
    const group = this.groupOf(row);
    if (group === null) return;
    const a = this.acc(group, this.bucket(queuedAt));
    const wait = row.wait_seconds as number | null;
    a.offered += 1;
    if (row.assigned_at) {
      a.answered += 1;
      a.waitSum += wait ?? 0;
      if ((wait ?? 0) <= this.options.serviceLevelSeconds) a.withinT += 1;
      if (row.handle_seconds !== null && row.ended_at) {
        a.handled += 1;
        a.handleSum += row.handle_seconds as number;
      }
      if ((row.transfers as number) > 0) a.transferred += 1;
      if (row.first_agent_kind === 'bot') {
        a.botTaken += 1;
        if (!row.handed_to_human && (row.transfers as number) === 0) a.botContained += 1;
      }
    } else if (row.abandoned) {
      a.abandoned += 1;
      if ((wait ?? 0) < this.options.shortAbandonSeconds) a.shortAbandoned += 1;
    }
    if (wait !== null) a.longest = Math.max(a.longest ?? 0, wait);
  }

  addAgentState(row: Row): void {
    if (this.options.by !== 'agent') return;
    const state = row.state as string;
    if (state === 'offline' || state === 'away') return;
    const started = row.started_at as string;
    if (!this.inRange(started)) return;
    const a = this.acc(row.agent_id as string, this.bucket(started));
    const seconds = row.seconds as number;
    a.staffedSeconds += seconds;
    if (state === 'busy') a.busySeconds += seconds;
  }

  private groupOf(row: Row): string | null {
    switch (this.options.by) {
      case 'queue':
        return (row.queue_id as string | null) ?? null;
      case 'agent':
        return (row.agent_id as string | null) ?? '(not answered)';
      case 'entry-point':
        return (row.entry_point_id as string | null) ?? null;
      case 'all':
        return 'all';
    }
  }

  result(): KpiRow[] {
    const rows: KpiRow[] = [];
    for (const [key, a] of this.accs) {
      const [group, bucket] = key.split('\u0000') as [string, string];
      const counted = a.offered - a.shortAbandoned;
      rows.push({
        group,
        intervalStart: bucket === '' ? null : bucket,
        offered: a.offered,
        answered: a.answered,
        abandoned: a.abandoned,
        shortAbandoned: a.shortAbandoned,
        abandonRate: ratio(a.abandoned - a.shortAbandoned, counted),
        averageSpeedOfAnswerSeconds: ratio(a.waitSum, a.answered),
        averageHandleSeconds: ratio(a.handleSum, a.handled),
        serviceLevel: ratio(a.withinT, counted),
        longestWaitSeconds: a.longest,
        transferRate: ratio(a.transferred, a.answered),
        botContainment: ratio(a.botContained, a.botTaken),
        occupancy: ratio(a.busySeconds, a.staffedSeconds),
      });
    }
    return rows.sort((x, y) => (x.group < y.group ? -1 : x.group > y.group ? 1 : (x.intervalStart ?? '') < (y.intervalStart ?? '') ? -1 : 1));
  }
}

/** Figures for a set of rows in one go (the what-if comparison and tests). */
export function computeKpis(sessions: Iterable<Row>, agentStates: Iterable<Row>, options: KpiOptions): KpiRow[] {
  const acc = new KpiAccumulator(options);
  for (const s of sessions) acc.addSession(s);
  for (const a of agentStates) acc.addAgentState(a);
  return acc.result();
}

const fmt = (v: number | null, kind: 'n' | 's' | '%') => (v === null ? '-' : kind === '%' ? `${(v * 100).toFixed(1)}%` : kind === 's' ? v.toFixed(1) : String(v));

export const KPI_COLUMNS: readonly { key: keyof KpiRow; title: string; kind: 'n' | 's' | '%' | 't' }[] = [
  { key: 'group', title: 'group', kind: 't' },
  { key: 'intervalStart', title: 'interval', kind: 't' },
  { key: 'offered', title: 'offered', kind: 'n' },
  { key: 'answered', title: 'answered', kind: 'n' },
  { key: 'abandoned', title: 'abandoned', kind: 'n' },
  { key: 'shortAbandoned', title: 'short_aband', kind: 'n' },
  { key: 'abandonRate', title: 'aband_rate', kind: '%' },
  { key: 'averageSpeedOfAnswerSeconds', title: 'asa_s', kind: 's' },
  { key: 'averageHandleSeconds', title: 'aht_s', kind: 's' },
  { key: 'serviceLevel', title: 'service_lvl', kind: '%' },
  { key: 'longestWaitSeconds', title: 'longest_s', kind: 's' },
  { key: 'transferRate', title: 'transfer_rate', kind: '%' },
  { key: 'botContainment', title: 'bot_contain', kind: '%' },
  { key: 'occupancy', title: 'occupancy', kind: '%' },
];

/** A fixed-width text table. */
export function formatKpiTable(rows: readonly KpiRow[]): string {
  const cells = rows.map((r) => KPI_COLUMNS.map((c) => (c.kind === 't' ? String(r[c.key] ?? 'all') : fmt(r[c.key] as number | null, c.kind))));
  const header = KPI_COLUMNS.map((c) => c.title);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
