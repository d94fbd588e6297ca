import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { estimateQueueWait, queueSnapshot, waitingByQueue } from '@parley/domain';
import { SERVICE_CONFIG } from '@parley/service-kit';
import type { ReportingConfig } from './reporting.config.js';
import { QueueViewService } from './queue-view.service.js';

export interface QueueSample {
  at: string;
  waiting: number;
  longestWaitSeconds: number;
  estimatedWaitSeconds: number;
  agentsAvailable: number;
  agentsBusy: number;
}

const HOUR_MS = 3_600_000;

/**
 * The last hour of each queue, sampled from the live projection, for the supervisor's charts. It lives in
 * memory: a restarted reporting service starts a new hour (the events keep everything for analysts).
 */
@Injectable()
export class QueueHistory implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly samples = new Map<string, QueueSample[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly view: QueueViewService,
    @Inject(SERVICE_CONFIG) private readonly config: ReportingConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.sample(Date.now());
    this.timer = setInterval(() => this.sample(Date.now()), this.config.HISTORY_SAMPLE_SECONDS * 1000);
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  sample(nowMs: number): void {
    const view = this.view.runner.state;
    const now = new Date(nowMs).toISOString();
    const queues = new Set([...waitingByQueue(view).keys(), ...this.samples.keys()]);
    for (const a of Object.values(view.agents)) if (a.status !== 'unknown' && a.profile.queues) for (const q of a.profile.queues) queues.add(q);
    for (const queueId of queues) {
      const s = queueSnapshot(view, queueId, now);
      const list = (this.samples.get(queueId) ?? []).filter((x) => nowMs - Date.parse(x.at) <= HOUR_MS);
      list.push({
        at: now,
        waiting: s.waiting.length,
        longestWaitSeconds: s.longestWaitSeconds,
        estimatedWaitSeconds: estimateQueueWait(view, queueId, s.waiting.length, now, this.config.DEFAULT_HANDLE_SECONDS).seconds,
        agentsAvailable: s.agentsAvailable,
        agentsBusy: s.agentsBusy,
      });
      this.samples.set(queueId, list);
    }
  }

  of(queueId: string): QueueSample[] {
    return this.samples.get(queueId) ?? [];
  }
}
