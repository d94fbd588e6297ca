import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@parley/contracts';
import { presenceOf } from '@parley/domain';
import { NATS_CONNECTION, natsRequest } from '@parley/service-kit';
import { type KpiHistoryInterval } from '@parley/analytics';
import { LiveEvents } from './live-events.service.js';

interface ReportingQueue {
  queueId: string;
  waiting: number;
  longestWaitSeconds: number;
  estimatedWaitSeconds: number;
  serviceLevel: { thresholdSeconds: number; share: number | null };
  waitingSessions: { sessionId: string; channel: string; waitingSeconds: number; priority: number; offeredTo: string | null }[];
  history: { at: string; waiting: number; agentsAvailable: number; agentsBusy: number }[];
}

/** One interval of the dashboard's KPI history: the figures `parley kpis` gives (libs/analytics), plus its bounds. */
export type KpiBucket = KpiHistoryInterval & {
  /** Older names of the same figures, which the dashboard's page reads. */
  asaSeconds: number | null;
  ahtSeconds: number | null;
};

const withAliases = (i: KpiHistoryInterval): KpiBucket => ({ ...i, asaSeconds: i.averageSpeedOfAnswerSeconds, ahtSeconds: i.averageHandleSeconds });

/**
 * What the supervisor dashboard shows: reporting's queue figures (waiting, estimates, service level, the last
 * hour) with agents counted from the events, the agents table, live conversations, KPIs per interval and the
 * session search. KPIs come from libs/analytics, the code behind `parley kpis`.
 */
@Injectable()
export class DashboardService {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly live: LiveEvents,
  ) {}

  agentsTable(now = new Date().toISOString()) {
    return [...this.live.agents.values()]
      .filter((a) => a.state.status !== 'unknown')
      .map((a) => {
        const s = a.state as Exclude<typeof a.state, { status: 'unknown' }>;
        const presence = presenceOf(s, now);
        const wrapUpUntil = 'wrapUpUntil' in s ? s.wrapUpUntil : null;
        return {
          agentId: a.agentId,
          displayName: s.profile.displayName,
          kind: s.profile.kind,
          state: presence,
          reason: s.status === 'away' ? s.reason : null,
          busy: s.conversations.length > 0 && presence !== 'offline',
          conversations: s.conversations.length,
          capacity: s.profile.capacity,
          queues: s.profile.queues,
          since: a.since,
          wrapUpUntil: presence === 'wrap-up' ? (wrapUpUntil ?? null) : null,
        };
      })
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  liveConversations() {
    return [...this.live.sessions.values()]
      .filter((s) => s.status === 'assigned')
      .map((s) => ({
        sessionId: s.sessionId,
        customer: s.alias,
        queueId: s.queueId,
        channel: s.channel,
        agentId: s.agentId,
        agentName: s.agentId ? this.live.displayNameOf(s.agentId) : null,
        assignedAt: s.assignedAt,
        messages: s.items.filter((i) => i.kind === 'customer' || i.kind === 'agent' || i.kind === 'supervisor').length,
        takenOverBy: s.takenOverBy?.displayName ?? null,
      }))
      .sort((a, b) => (a.assignedAt ?? '').localeCompare(b.assignedAt ?? ''));
  }

  async overview() {
    const now = new Date().toISOString();
    const reporting = await natsRequest<{ at: string; queues: ReportingQueue[] }>(this.nc, SUBJECTS.statsQueues, {}).catch(() => ({ at: now, queues: [] as ReportingQueue[] }));
    const agents = this.agentsTable(now);
    const queues = reporting.queues.map((q) => {
      const serving = agents.filter((a) => a.queues === null || a.queues.includes(q.queueId));
      const byState = {
        available: serving.filter((a) => a.state === 'available' && a.conversations < a.capacity).length,
        busy: serving.filter((a) => a.busy).length,
        away: serving.filter((a) => a.state === 'away').length,
        'wrap-up': serving.filter((a) => a.state === 'wrap-up').length,
        offline: serving.filter((a) => a.state === 'offline').length,
      };
      const waitingSessions = q.waitingSessions.map((w) => ({
        ...w,
        customer: this.live.sessions.get(w.sessionId)?.alias ?? w.sessionId.slice(0, 8),
        offeredToName: w.offeredTo ? this.live.displayNameOf(w.offeredTo) : null,
      }));
      return { ...q, agentsByState: byState, waitingSessions };
    });
    return { at: reporting.at, queues, agents, conversations: this.liveConversations() };
  }

  /**
   * KPIs of one queue (or all) in buckets over [from, to), by the time each session entered the queue: computed by
   * libs/analytics's `KpiHistory`, i.e. the rows and accumulator `parley kpis` uses, so both give the same figures.
   */
  kpis(queueId: string | null, from: string, to: string, bucketMinutes: number, thresholdSeconds: number): { buckets: KpiBucket[]; total: KpiBucket } {
    const { intervals, total } = this.live.kpiHistory.query({ queueId, fromMs: Date.parse(from), toMs: Date.parse(to), intervalSeconds: bucketMinutes * 60, serviceLevelSeconds: thresholdSeconds });
    return { buckets: intervals.map(withAliases), total: withAliases(total) };
  }

  search(q: { customer?: string; agent?: string; queue?: string; from?: string; to?: string }, limit = 100) {
    const needle = q.customer?.toLowerCase();
    const agent = q.agent?.toLowerCase();
    return [...this.live.sessions.values()]
      .filter((s) => !needle || s.alias.toLowerCase().includes(needle) || (s.customerId ?? '').toLowerCase().includes(needle) || s.sessionId.startsWith(q.customer!))
      .filter((s) => !agent || s.agents.some((a) => a.toLowerCase().includes(agent) || this.live.displayNameOf(a).toLowerCase().includes(agent)))
      .filter((s) => !q.queue || s.queueId === q.queue)
      .filter((s) => !q.from || Date.parse(s.openedAt) >= Date.parse(q.from))
      .filter((s) => !q.to || Date.parse(s.openedAt) < Date.parse(q.to))
      .sort((a, b) => b.openedAt.localeCompare(a.openedAt))
      .slice(0, limit)
      .map((s) => ({
        sessionId: s.sessionId,
        customer: s.alias,
        customerId: s.customerId,
        queueId: s.queueId,
        channel: s.channel,
        status: s.status,
        agents: s.agents.map((a) => this.live.displayNameOf(a)),
        openedAt: s.openedAt,
        endedAt: s.endedAt,
        disposition: s.disposition,
        rating: s.rating?.score ?? null,
      }));
  }
}
