import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@parley/contracts';
import { presenceOf } from '@parley/domain';
import { NATS_CONNECTION, natsRequest } from '@parley/service-kit';
import { type SessionRecord, LiveEvents } from './live-events.service.js';

interface ReportingQueue {
  queueId: string;
  waiting: number;
  longestWaitSeconds: number;
  estimatedWaitSeconds: number;
  serviceLevel: { thresholdSeconds: number; share: number | null };
  waitingSessions: { sessionId: string; channel: string; waitingSeconds: number; priority: number; offeredTo: string | null }[];
  history: { at: string; waiting: number; agentsAvailable: number; agentsBusy: number }[];
}

export interface KpiBucket {
  from: string;
  to: string;
  offered: number;
  answered: number;
  abandoned: number;
  /** Average speed of answer and average handle time, in seconds (null without any). */
  asaSeconds: number | null;
  ahtSeconds: number | null;
  /** Share answered within the threshold, of those answered or abandoned after it. */
  serviceLevel: number | null;
}

const avg = (xs: number[]) => (xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
const secondsBetween = (a: string, b: string) => Math.max(0, (Date.parse(b) - Date.parse(a)) / 1000);

/**
 * What the supervisor dashboard shows: reporting's queue figures (waiting, estimates, service level, the last
 * hour) with agents counted from the events, the agents table, live conversations, KPIs per interval and the
 * session search. KPIs are computed here from the web channel's read model until the shared KPI code exists.
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
      .map((s) => ({ sessionId: s.sessionId, customer: s.alias, queueId: s.queueId, channel: s.channel, agentId: s.agentId, agentName: s.agentId ? this.live.displayNameOf(s.agentId) : null, assignedAt: s.assignedAt, messages: s.items.filter((i) => i.kind === 'customer' || i.kind === 'agent' || i.kind === 'supervisor').length, takenOverBy: s.takenOverBy?.displayName ?? null }))
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
      const waitingSessions = q.waitingSessions.map((w) => ({ ...w, customer: this.live.sessions.get(w.sessionId)?.alias ?? w.sessionId.slice(0, 8), offeredToName: w.offeredTo ? this.live.displayNameOf(w.offeredTo) : null }));
      return { ...q, agentsByState: byState, waitingSessions };
    });
    return { at: reporting.at, queues, agents, conversations: this.liveConversations() };
  }

  /** KPIs of one queue (or all) in buckets over [from, to), by the time each session entered the queue. */
  kpis(queueId: string | null, from: string, to: string, bucketMinutes: number, thresholdSeconds: number): { buckets: KpiBucket[]; total: KpiBucket } {
    const start = Date.parse(from);
    const end = Date.parse(to);
    const size = bucketMinutes * 60_000;
    const sessions = [...this.live.sessions.values()].filter((s) => s.queuedAt && (!queueId || s.queueId === queueId) && Date.parse(s.queuedAt) >= start && Date.parse(s.queuedAt) < end);
    const figure = (list: SessionRecord[], f: number, t: number): KpiBucket => {
      const answered = list.filter((s) => s.firstAssignedAt);
      const abandoned = list.filter((s) => s.abandoned);
      const waits = answered.map((s) => secondsBetween(s.queuedAt!, s.firstAssignedAt!));
      const handles = answered.filter((s) => s.endedAt).map((s) => secondsBetween(s.firstAssignedAt!, s.endedAt!));
      const slBase = waits.length + abandoned.filter((s) => secondsBetween(s.queuedAt!, s.endedAt!) > thresholdSeconds).length;
      return {
        from: new Date(f).toISOString(),
        to: new Date(t).toISOString(),
        offered: list.length,
        answered: answered.length,
        abandoned: abandoned.length,
        asaSeconds: avg(waits),
        ahtSeconds: avg(handles),
        serviceLevel: slBase ? waits.filter((w) => w <= thresholdSeconds).length / slBase : null,
      };
    };
    const buckets: KpiBucket[] = [];
    for (let t = start; t < end; t += size) buckets.push(figure(sessions.filter((s) => Date.parse(s.queuedAt!) >= t && Date.parse(s.queuedAt!) < t + size), t, Math.min(end, t + size)));
    return { buckets, total: figure(sessions, start, end) };
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
