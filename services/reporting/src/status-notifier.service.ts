import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@parley/contracts';
import { estimateQueueWait, waitingByQueue } from '@parley/domain';
import { CoalescingTask, MetricsService, NATS_CONNECTION, SERVICE_CONFIG, SingletonLease, natsRequest } from '@parley/service-kit';
import { Counter, Gauge } from 'prom-client';
import type { ReportingConfig } from './reporting.config.js';
import { QueueViewService } from './queue-view.service.js';

/**
 * Tells every waiting customer their position and estimated wait: when the position changes, and at a
 * cadence. Reports go to buffer (the reporting session), which readdresses them to the customer. One instance of
 * reporting does it (a singleton lease): each instance telling every customer would say everything twice.
 */
@Injectable()
export class StatusNotifier implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('StatusNotifier');
  private readonly lastPosition = new Map<string, number>();
  private readonly lastSentAt = new Map<string, number>();
  // Yield once before a pass, so a burst of events settles and nobody is told a position already stale.
  private readonly task = new CoalescingTask('status pass', () => new Promise<void>((r) => setImmediate(r)).then(() => this.pass(Date.now())), this.logger);
  private unsubscribe?: () => void;
  private lease?: SingletonLease;
  private readonly active: Gauge;
  private readonly told: Counter;

  constructor(
    private readonly view: QueueViewService,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ReportingConfig,
    metrics: MetricsService,
  ) {
    this.active = new Gauge({
      name: 'parley_status_notifier_active',
      help: '1 on the reporting instance that tells waiting customers their place (it holds the status lease), 0 on the others',
      registers: [metrics.registry],
    });
    this.active.set(0);
    this.told = new Counter({ name: 'parley_status_reports_total', help: 'Statuses (place and estimated wait) this instance had delivered to waiting customers', registers: [metrics.registry] });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.lease = await SingletonLease.start(this.nc, this.config, 'reporting', 'status-notifier', (held) => {
      this.logger.log({ msg: held ? 'telling waiting customers their place (this instance holds the status lease)' : 'status lease given up' });
      this.active.set(held ? 1 : 0);
      // A new holder knows nothing of what the last one told: it tells everyone their place once, then goes on.
      this.lastPosition.clear();
      this.lastSentAt.clear();
    });
    this.unsubscribe = this.view.runner.onApplied(() => this.task.trigger());
    this.task.every(1_000).trigger();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.task.stop();
    await this.lease?.stop();
  }

  private async pass(nowMs: number): Promise<void> {
    const now = new Date(nowMs).toISOString();
    const view = this.view.runner.state;
    const waitingNow = new Set<string>();
    for (const [queueId, waiting] of waitingByQueue(view)) {
      // A session with an offer out is being connected: it leaves the line, and whoever was behind it moves up.
      // A message left outside business hours waits for the opening; its customer was told when that is.
      const line = waiting.filter((s) => !s.offer && !(s.place.notBefore && Date.parse(s.place.notBefore) > nowMs));
      for (const s of waiting) waitingNow.add(s.core.sessionId);
      for (const [index, session] of line.entries()) {
        const sessionId = session.core.sessionId;
        // A declined offer puts its session back ahead: those behind are not moved back for it (see below).
        const last = this.lastPosition.get(sessionId);
        let position = index;
        let reason: 'priority' | undefined;
        if (last !== undefined && position > last) {
          // Up only when someone more urgent came in ahead; otherwise hold the place told until it is true again.
          const urgentAhead = line.slice(0, index).some((s) => s.place.priority > session.place.priority);
          if (urgentAhead) reason = 'priority';
          else position = last;
        }
        // Asked for each customer, not once per pass: a long pass must not go on telling after the lease has gone.
        if (!this.lease?.held) return;
        const changed = last !== position;
        const due = nowMs - (this.lastSentAt.get(sessionId) ?? 0) >= this.config.STATUS_INTERVAL_SECONDS * 1000;
        if (!changed && !due) continue;
        const estimate = estimateQueueWait(view, queueId, position, now, this.config.DEFAULT_HANDLE_SECONDS);
        const statusId = `${sessionId}.status.${changed ? `p${position}.${this.view.runner.position}` : `t${nowMs}`}`;
        const reply = await natsRequest<{ delivered?: boolean }>(this.nc, SUBJECTS.bufferStatus, {
          sessionId,
          statusId,
          position,
          estimatedWaitSeconds: estimate.seconds,
          lowSeconds: estimate.lowSeconds,
          highSeconds: estimate.highSeconds,
          ...(reason ? { reason } : {}),
        });
        // Not delivered (buffer saw the session otherwise): told nothing, so it is tried again on the next pass.
        if (!reply.delivered) continue;
        this.told.inc();
        this.lastPosition.set(sessionId, position);
        this.lastSentAt.set(sessionId, nowMs);
      }
    }
    for (const id of this.lastPosition.keys()) {
      if (!waitingNow.has(id)) {
        this.lastPosition.delete(id);
        this.lastSentAt.delete(id);
      }
    }
  }
}
