import { Inject, Injectable } from '@nestjs/common';
import { EmptyRequest, type QueueStats, SUBJECTS, redactCustomerIdentity } from '@parley/contracts';
import { type AgentState, type ContactCenterView, type QueueSnapshot, estimateQueueWait, presenceOf, queueSnapshot, serviceLevel, servesQueue, waitingByQueue } from '@parley/domain';
import { QueueHistory } from './queue-history.service.js';
import { Handles, type RequestContext, SERVICE_CONFIG } from '@parley/service-kit';
import type { ReportingConfig } from './reporting.config.js';
import { QueueViewService, queuesProjection } from './queue-view.service.js';

@Injectable()
export class StatsHandler {
  constructor(
    private readonly view: QueueViewService,
    private readonly history: QueueHistory,
    @Inject(SERVICE_CONFIG) private readonly config: ReportingConfig,
  ) {}

  /** Every queue: the figures, agents by state, service level, the waiting sessions and the last hour. */
  @Handles(SUBJECTS.statsQueues, EmptyRequest)
  async queues(_req: EmptyRequest, ctx: RequestContext) {
    const view = await this.view.fresh();
    const waiting = waitingByQueue(view);
    const agents = Object.entries(view.agents).filter((e): e is [string, Exclude<AgentState, { status: 'unknown' }>] => e[1].status !== 'unknown');
    const ids = new Set([...waiting.keys(), ...agents.flatMap(([, a]) => a.profile.queues ?? []), ...Object.values(view.entryQueues ?? {})]);
    const now = Date.parse(ctx.now);
    const queues = [...ids].sort().map((queueId) => {
      const s = queueSnapshot(view, queueId, ctx.now, waiting.get(queueId) ?? []);
      const byState: Record<string, number> = { available: 0, away: 0, 'wrap-up': 0, busy: 0, offline: 0 };
      for (const [, a] of agents) {
        if (!servesQueue(a, queueId)) continue;
        const presence = presenceOf(a, ctx.now);
        const busy = presence === 'available' && a.status !== 'offline' && a.conversations.length >= a.profile.capacity;
        byState[busy ? 'busy' : presence] = (byState[busy ? 'busy' : presence] ?? 0) + 1;
      }
      return {
        ...this.stats(view, s, ctx.now),
        agentsByState: byState,
        serviceLevel: { thresholdSeconds: this.config.SERVICE_LEVEL_SECONDS, share: serviceLevel(view.totals[queueId], this.config.SERVICE_LEVEL_SECONDS) },
        waitingSessions: s.waiting.map((w) => ({
          sessionId: w.core.sessionId,
          channel: w.core.channel,
          waitingSeconds: Math.max(0, Math.floor((now - Date.parse(w.place.arrivedAt)) / 1000)),
          priority: w.place.priority,
          offeredTo: w.offer?.agentId ?? null,
        })),
        history: this.history.of(queueId),
      };
    });
    return { at: ctx.now, queues };
  }

  /** Live statistics of one queue; the queue ID is the last token of the subject. */
  @Handles(SUBJECTS.statsQueue, EmptyRequest)
  async queue(_req: EmptyRequest, ctx: RequestContext): Promise<QueueStats> {
    const queueId = ctx.subject.split('.').at(-1)!;
    // Asked at every subscription to a limited queue: the live view as it stands, no request to the store.
    const view = this.view.runner.state;
    return this.stats(view, queueSnapshot(view, queueId, ctx.now), ctx.now);
  }

  /** The contract's queue statistics; the estimate is for a customer arriving now, behind everyone waiting. */
  private stats(view: ContactCenterView, s: QueueSnapshot, now: string): QueueStats {
    return {
      queueId: s.queueId,
      waiting: s.waiting.length,
      longestWaitSeconds: s.longestWaitSeconds,
      agentsAvailable: s.agentsAvailable,
      agentsBusy: s.agentsBusy,
      estimatedWaitSeconds: estimateQueueWait(view, s.queueId, s.waiting.length, now, this.config.DEFAULT_HANDLE_SECONDS).seconds,
    };
  }

  /** The live queue projection with its position, so operators and tests can compare it with a rebuild. */
  @Handles(SUBJECTS.reportingProjection, EmptyRequest)
  async projection() {
    const view = await this.view.fresh();
    // Nothing internal returns a customer's own address to anyone but buffer.
    return { name: queuesProjection.name, version: queuesProjection.version, position: this.view.runner.position, state: redactCustomerIdentity(view) };
  }
}
