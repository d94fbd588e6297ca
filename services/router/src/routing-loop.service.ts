import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { type PlannedOffer, agentDecider, planOffers, sessionDecider } from '@parley/domain';
import { ParleyError } from '@parley/errors';
import { CommandHandler } from '@parley/event-store';
import type { CenterSettings } from '@parley/center-config';
import { CENTER_SETTINGS, CoalescingTask, SERVICE_CONFIG, commandContext } from '@parley/service-kit';
import { OfferMetrics } from './offer-metrics.js';
import { QueueLeases } from './queue-leases.service.js';
import { randomBytes } from 'node:crypto';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

/**
 * Runs the routing policy over the view whenever it changes (and on a tick, for expiries and cool-downs).
 * An offer reserves capacity on the agent's stream first, then offers on the session's, each with optimistic
 * concurrency: two routers racing cannot both win either one, so no agent is over capacity and no session is
 * offered twice. A reservation whose session offer lost is released; one left by a crash expires with its offer.
 */
@Injectable()
export class RoutingLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RoutingLoop');
  private readonly task = new CoalescingTask('routing pass', () => this.pass(), this.logger);
  private unsubscribe?: () => void;

  constructor(
    private readonly view: RoutingViewService,
    private readonly commands: CommandHandler,
    private readonly leases: QueueLeases,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    private readonly metrics: OfferMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.view.runner.onApplied(() => this.task.trigger());
    this.task.every(this.config.ROUTING_TICK_MS).trigger();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.task.stop();
  }

  private async pass(): Promise<void> {
    const now = new Date().toISOString();
    await this.expireOffers(now);
    const plan = planOffers(this.view.runner.state, {
      now,
      declineCooldownSeconds: this.config.DECLINE_COOLDOWN_SECONDS,
      routingOf: (queueId) => this.center.routingOf(queueId),
      onlyQueues: this.leases.queues,
    });
    for (const offer of plan) {
      if (this.task.isStopped) return;
      await this.offer(offer, now);
    }
  }
  private async expireOffers(now: string): Promise<void> {
    const t = Date.parse(now);
    for (const session of Object.values(this.view.runner.state.sessions)) {
      if (session.status !== 'queued' || !session.offer || Date.parse(session.offer.expiresAt) > t) continue;
      if (!this.leases.queues.has(session.place.queueId)) continue;
      await this.commands.handle(
        sessionDecider,
        { aggregate: 'session', id: session.core.sessionId },
        { kind: 'decline-offer', offerId: session.offer.offerId, agentId: null, outcome: 'expired', reason: 'offer timed out', now },
        commandContext(now, 'system:router', `expire-${session.offer.offerId}`),
      );
      this.metrics.offers.inc({ outcome: 'expired' });
    }
  }

  private async offer({ sessionId, agentId, decision }: PlannedOffer, now: string): Promise<void> {
    const offerId = randomBytes(12).toString('base64url');
    const expiresAt = new Date(Date.parse(now) + this.config.OFFER_TIMEOUT_SECONDS * 1000).toISOString();
    try {
      await this.commands.handle(
        agentDecider,
        { aggregate: 'agent', id: agentId },
        { kind: 'reserve-offer', offerId, sessionId, expiresAt, now },
        commandContext(now, 'system:router', `reserve-${offerId}`),
      );
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'conflict') return; // the view was behind; the next pass sees why
      throw err;
    }
    try {
      await this.commands.handle(
        sessionDecider,
        { aggregate: 'session', id: sessionId },
        { kind: 'offer', offerId, agentId, expiresAt, now, decision },
        commandContext(now, 'system:router', `offer-${offerId}`),
      );
      this.metrics.offers.inc({ outcome: 'made' });
      this.logger.log({ msg: 'offered', sessionId, agentId, offerId, queueId: decision.queueId, step: decision.step, tieBreak: decision.tieBreak });
    } catch (err) {
      await this.commands.handle(
        agentDecider,
        { aggregate: 'agent', id: agentId },
        { kind: 'release-offer', offerId, outcome: 'superseded', maxMissedOffers: this.config.MAX_MISSED_OFFERS, now },
        commandContext(now, 'system:router', `release-${offerId}`),
      );
      if (!(err instanceof ParleyError) || (err.code !== 'conflict' && err.code !== 'not-found')) throw err;
    }
  }
}
