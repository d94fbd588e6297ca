import { Inject, Injectable } from '@nestjs/common';
import { EmptyRequest, type QueueStats, SUBJECTS } from '@parley/contracts';
import { estimateWaitSeconds, queueSnapshot } from '@parley/domain';
import { Handles, type RequestContext, SERVICE_CONFIG } from '@parley/service-kit';
import type { ReportingConfig } from './reporting.config.js';
import { QueueViewService, queuesProjection } from './queue-view.service.js';

@Injectable()
export class StatsHandler {
  constructor(
    private readonly view: QueueViewService,
    @Inject(SERVICE_CONFIG) private readonly config: ReportingConfig,
  ) {}

  /** Live statistics of one queue; the queue ID is the last token of the subject. */
  @Handles(SUBJECTS.statsQueue, EmptyRequest)
  async queue(_req: EmptyRequest, ctx: RequestContext): Promise<QueueStats> {
    const queueId = ctx.subject.split('.').at(-1)!;
    const view = await this.view.fresh();
    const s = queueSnapshot(view, queueId, ctx.now);
    return {
      queueId,
      waiting: s.waiting.length,
      longestWaitSeconds: s.longestWaitSeconds,
      agentsAvailable: s.agentsAvailable,
      agentsBusy: s.agentsBusy,
      estimatedWaitSeconds: estimateWaitSeconds(s, s.waiting.length, this.config.DEFAULT_HANDLE_SECONDS),
    };
  }

  /** The live queue projection with its position, so operators and tests can compare it with a rebuild. */
  @Handles(SUBJECTS.reportingProjection, EmptyRequest)
  async projection() {
    const view = await this.view.fresh();
    return { name: queuesProjection.name, version: queuesProjection.version, position: this.view.runner.position, state: view };
  }
}
