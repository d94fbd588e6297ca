import type { NatsConnection } from '@nats-io/transport-node';
import { type AnalyticsEvent, type KpiOptions, type KpiRow, DEFAULT_WORKLOAD, KpiAccumulator, TableBuilder, decodeEvent, simulate, syntheticWorkload } from '@parley/analytics';
import { describe, expect, it } from 'vitest';
import { DashboardService } from './dashboard.service.js';
import { LiveEvents } from './live-events.service.js';

// The supervisor dashboard's KPI history and `parley kpis` over the same stored events must give the same figures.
// The events: a simulated contact-center morning (two queues, long-tailed handle times, customers who give up), cut
// off while customers still wait and talk, stored as the services store them.
const { arrivals, roster } = syntheticWorkload({ ...DEFAULT_WORKLOAD, hours: 4 });
const simulated: AnalyticsEvent[] = [];
simulate(arrivals, roster, { onEvent: (e) => simulated.push(e) });
const cutAt = DEFAULT_WORKLOAD.startMs + 3 * 3_600_000 + 7 * 60_000;
const stored = simulated
  .filter((e) => Date.parse(e.metadata.at) < cutAt)
  .map((e, i) => ({
    subject: `parley.v1.evt.${e.aggregate}.${e.aggregateId}`,
    seq: i + 1,
    payload: JSON.stringify({ id: e.id, type: e.type, schemaVersion: 1, aggregateId: e.aggregateId, data: e.data, metadata: e.metadata }),
    atMs: Date.parse(e.metadata.at),
  }));

/** What `parley kpis` computes (tools/parley-cli kpis-command): every event into the table builder, rows into the accumulator, open sessions at the end. */
function cliKpis(options: KpiOptions): KpiRow[] {
  const acc = new KpiAccumulator(options);
  const builder = new TableBuilder({ sessions: (r) => acc.addSession(r), agentStates: (r) => acc.addAgentState(r) });
  for (const m of stored) builder.apply(decodeEvent(m.subject, m.seq, m.payload));
  builder.finish(new Date(Math.min(options.untilMs ?? cutAt, cutAt)).toISOString());
  return acc.result();
}

function dashboard(): DashboardService {
  const nc = {} as NatsConnection;
  const live = new LiveEvents(nc);
  for (const m of stored) live.receive(m.subject, m.seq, m.payload, m.atMs);
  return new DashboardService(nc, live);
}

const figures = (r: Partial<KpiRow>) => ({
  offered: r.offered ?? 0,
  answered: r.answered ?? 0,
  abandoned: r.abandoned ?? 0,
  shortAbandoned: r.shortAbandoned ?? 0,
  abandonRate: r.abandonRate ?? null,
  averageSpeedOfAnswerSeconds: r.averageSpeedOfAnswerSeconds ?? null,
  averageHandleSeconds: r.averageHandleSeconds ?? null,
  serviceLevel: r.serviceLevel ?? null,
  longestWaitSeconds: r.longestWaitSeconds ?? null,
  transferRate: r.transferRate ?? null,
  botContainment: r.botContainment ?? null,
});

describe("the dashboard's KPI history and parley kpis", () => {
  const from = new Date(DEFAULT_WORKLOAD.startMs).toISOString();
  const to = new Date(DEFAULT_WORKLOAD.startMs + 4 * 3_600_000).toISOString();
  const range = { sinceMs: Date.parse(from), untilMs: Date.parse(to), serviceLevelSeconds: 20, shortAbandonSeconds: 5 };

  it('gives the same figures per queue and 15-minute interval (`parley kpis --by queue --interval 15m`)', () => {
    const board = dashboard();
    const cli = cliKpis({ ...range, by: 'queue', intervalSeconds: 900 });
    expect(cli.length).toBeGreaterThan(20);
    for (const queueId of DEFAULT_WORKLOAD.queues) {
      const { buckets } = board.kpis(queueId, from, to, 15, 20);
      expect(buckets).toHaveLength(16);
      for (const b of buckets) {
        const row = cli.find((r) => r.group === queueId && r.intervalStart === b.from);
        expect(figures(b), `${queueId} ${b.from}`).toEqual(figures(row ?? {}));
      }
      // Something to compare: answered and abandoned customers, and the last intervals still open at the cut.
      expect(buckets.reduce((n, b) => n + b.answered, 0)).toBeGreaterThan(50);
      expect(buckets.reduce((n, b) => n + b.abandoned, 0)).toBeGreaterThan(0);
      expect(buckets.at(-1)!.offered).toBe(0);
    }
  });

  it('gives the same totals for one queue and for all queues (`--by queue` and `--by all`, no interval)', () => {
    const board = dashboard();
    const perQueue = cliKpis({ ...range, by: 'queue', intervalSeconds: null });
    for (const queueId of DEFAULT_WORKLOAD.queues) expect(figures(board.kpis(queueId, from, to, 15, 20).total)).toEqual(figures(perQueue.find((r) => r.group === queueId)!));
    const [all] = cliKpis({ ...range, by: 'all', intervalSeconds: null });
    expect(figures(board.kpis(null, from, to, 15, 20).total)).toEqual(figures(all!));
    expect(all!.offered).toBe(perQueue.reduce((n, r) => n + r.offered, 0));
  });
});
