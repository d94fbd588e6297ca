import type { AgentProfile } from '@parley/domain';
import { type AnalyticsEvent, eventInstant } from './analytics-event.js';

export interface EventFilterOptions {
  aggregate?: string | null;
  types?: readonly string[] | null;
  /** Session events of sessions queued in this queue, agent events of agents serving it. */
  queue?: string | null;
  sinceMs?: number | null;
  untilMs?: number | null;
}

/**
 * Decides which events `parley events` prints. With a queue, a session's events before it reached a queue are
 * held (only while the session has not been queued) and let through once its queue is known to match.
 */
export class EventFilter {
  private readonly sessionQueue = new Map<string, string>();
  private readonly held = new Map<string, AnalyticsEvent[]>();
  private readonly agentServes = new Map<string, boolean>();
  private readonly entryQueue = new Map<string, string>();

  constructor(private readonly o: EventFilterOptions) {}

  /** The events to emit now for this one (zero, one, or a held session's backlog plus this one). */
  accept(e: AnalyticsEvent): AnalyticsEvent[] {
    if (this.o.aggregate && e.aggregate !== this.o.aggregate) return [];
    let out: AnalyticsEvent[] = [e];
    if (this.o.queue) {
      out = this.byQueue(e);
      if (out.length === 0) return [];
    }
    return out.filter((x) => this.plain(x));
  }

  private plain(e: AnalyticsEvent): boolean {
    if (this.o.types && this.o.types.length > 0 && !this.o.types.includes(e.type)) return false;
    if (this.o.sinceMs != null || this.o.untilMs != null) {
      const t = Date.parse(eventInstant(e));
      if (this.o.sinceMs != null && t < this.o.sinceMs) return false;
      if (this.o.untilMs != null && t >= this.o.untilMs) return false;
    }
    return true;
  }

  private byQueue(e: AnalyticsEvent): AnalyticsEvent[] {
    const q = this.o.queue!;
    if (e.aggregate === 'session') {
      if (e.type === 'SessionQueued' || e.type === 'SessionTransferred') {
        const queueId = (e.data as { queueId?: string; toQueueId?: string }).queueId ?? (e.data as { toQueueId?: string }).toQueueId;
        if (queueId) this.sessionQueue.set(e.aggregateId, queueId);
        const held = this.held.get(e.aggregateId) ?? [];
        this.held.delete(e.aggregateId);
        return queueId === q ? [...held, e] : [];
      }
      const known = this.sessionQueue.get(e.aggregateId);
      if (known === undefined) {
        const list = this.held.get(e.aggregateId) ?? [];
        list.push(e);
        this.held.set(e.aggregateId, list);
        return [];
      }
      if (e.type === 'SessionEnded') this.sessionQueue.delete(e.aggregateId);
      return known === q ? [e] : [];
    }
    if (e.aggregate === 'agent') {
      if (e.type === 'AgentLoggedIn') {
        const queues = (e.data as { profile: AgentProfile }).profile.queues;
        this.agentServes.set(e.aggregateId, queues === null || queues.includes(q));
      }
      return this.agentServes.get(e.aggregateId) ? [e] : [];
    }
    if (e.aggregate === 'entrypoint') {
      if (e.type === 'EntryPointRegistered') this.entryQueue.set(e.aggregateId, (e.data as { queueId?: string }).queueId ?? '');
      return this.entryQueue.get(e.aggregateId) === q ? [e] : [];
    }
    return [];
  }
}
