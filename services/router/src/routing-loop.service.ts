import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { type PlannedOffer, agentAggregate, planOffers, sessionAggregate, strayConversations } from '@parley/domain';
import { ParleyError } from '@parley/errors';
import { BoundedMap, CommandHandler, type TraceCarrier, VersionConflictError, contextOfCarrier } from '@parley/event-store';
import type { CenterSettings } from '@parley/center-config';
import { CENTER_SETTINGS, CLOCK, type Clock, CoalescingTask, SERVICE_CONFIG, commandContext, traced, tracingEnabled } from '@parley/service-kit';
import { OfferMetrics } from './offer-metrics.js';
import { QueueLeases } from './queue-leases.service.js';
import { randomBytes } from 'node:crypto';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

const OFFERS_IN_FLIGHT = 16;
const FULL_PASS_MS = 1_000;
/**
 * How long a conversation may look stray before the router ends it: the session's own follow-up normally ends it
 * within milliseconds, and may be seconds behind when the cluster is recovering.
 */
const STRAY_CONVERSATION_GRACE_MS = 10_000;

/** An offer refused for a known reason: the session offer was not written, so its reservation can go. */
const refused = (err: unknown) => err instanceof VersionConflictError || (err instanceof ParleyError && (err.code === 'conflict' || err.code === 'not-found'));

/**
 * Runs the routing policy over the view whenever it changes (and on a tick, for expiries and cool-downs).
 * An offer reserves capacity on the agent's stream first, then offers on the session's, each with optimistic
 * concurrency: two routers racing cannot both win either one, so no agent is over capacity and no session is
 * offered twice. A reservation is released only on evidence: its session offer was refused, declined, or its
 * session no longer waits for it; never because a write timed out (it may have landed).
 */
@Injectable()
export class RoutingLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RoutingLoop');
  private readonly task = new CoalescingTask('routing pass', () => this.pass(), this.logger);
  private unsubscribe?: () => void;
  private touched = { agents: new Set<string>(), sessions: new Set<string>() };
  private lastFullPass = 0;
  /** Stray conversations (strayConversations) by `agent/session`, with when this router first saw each. */
  private readonly strays = new Map<string, number>();
  /** Traced: each session's latest trace context, so its offer continues the trace of what made it routable. */
  private readonly sessionTraces = new BoundedMap<string, TraceCarrier>(20_000);

  constructor(
    private readonly view: RoutingViewService,
    private readonly commands: CommandHandler,
    private readonly leases: QueueLeases,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
    @Inject(CENTER_SETTINGS) private readonly center: CenterSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: OfferMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.view.runner.onApplied((event) => {
      if (event.aggregate === 'agent') this.touched.agents.add(event.aggregateId);
      else if (event.aggregate === 'session') {
        this.touched.sessions.add(event.aggregateId);
        if (event.traceContext) this.sessionTraces.set(event.aggregateId, event.traceContext);
      }
      this.task.trigger();
    });
    // Queues taken over (another router handed them back) are routed at once, not at the next full pass.
    this.leases.onChange(() => {
      this.lastFullPass = 0;
      this.task.trigger();
    });
    // At shutdown the queue leases go only once no pass is in hand.
    this.leases.onRelease(() => this.task.stop());
    this.task.every(this.config.ROUTING_TICK_MS).trigger();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.task.stop();
  }

  /**
   * An event-driven pass looks only at the agents and sessions whose events came in since the last pass; a full
   * pass (every FULL_PASS_MS, and the first) also covers what time alone changes: expiries, rule steps widening,
   * wrap-ups and cool-downs ending, idle sessions, queues newly leased.
   */
  private async pass(): Promise<void> {
    const now = this.clock.now();
    const nowMs = Date.parse(now);
    const touched = this.touched;
    this.touched = { agents: new Set(), sessions: new Set() };
    const full = nowMs - this.lastFullPass >= FULL_PASS_MS;
    if (full) {
      this.lastFullPass = nowMs;
      await this.expireOffers(now);
      await this.sweepReservations(now);
      await this.endStrayConversations(now);
      await this.checkIdle(now);
    } else if (touched.agents.size === 0 && touched.sessions.size === 0) return;
    const plan = planOffers(this.view.runner.state, {
      now,
      declineCooldownSeconds: this.config.DECLINE_COOLDOWN_SECONDS,
      routingOf: (queueId) => this.center.routingOf(queueId),
      onlyQueues: this.leases.queues,
      ...(full ? {} : { touched }),
    });
    // Offers of one plan are to different sessions: make them side by side (an agent's own writes still queue up
    // one after the other in the command handler), a few at a time.
    let next = 0;
    const worker = async () => {
      while (next < plan.length && !this.task.isStopped) {
        const planned = plan[next++]!;
        await (tracingEnabled() ? this.tracedOffer(planned, now) : this.offer(planned, now));
      }
    };
    await Promise.all(Array.from({ length: Math.min(OFFERS_IN_FLIGHT, plan.length) }, worker));
  }

  private async expireOffers(now: string): Promise<void> {
    const t = Date.parse(now);
    for (const session of Object.values(this.view.runner.state.sessions)) {
      if (session.status !== 'queued' || !session.offer || Date.parse(session.offer.expiresAt) > t) continue;
      if (!this.leases.queues.has(session.place.queueId)) continue;
      await this.commands.handle(
        sessionAggregate.stream(session.core.sessionId),
        { kind: 'decline-offer', offerId: session.offer.offerId, agentId: null, outcome: 'expired', reason: 'offer timed out', now },
        commandContext(now, 'system:router', `expire-${session.offer.offerId}`),
      );
      this.metrics.offers.inc({ outcome: 'expired' });
    }
  }

  /**
   * Reservations whose session offer never landed (a router died between the two writes) or whose session stopped
   * waiting for them (ended, or offered elsewhere) are released once well past their expiry. A reservation whose
   * session is assigned to this agent is left for the start of the conversation to take over.
   */
  private async sweepReservations(now: string): Promise<void> {
    const graceMs = this.config.OFFER_TIMEOUT_SECONDS * 1000;
    const t = Date.parse(now);
    const view = this.view.runner.state;
    for (const [agentId, agent] of Object.entries(view.agents)) {
      if (agent.status !== 'available' && agent.status !== 'away') continue;
      for (const r of agent.reservations) {
        if (Date.parse(r.expiresAt) + graceMs > t) continue;
        const session = view.sessions[r.sessionId];
        if (session?.status === 'assigned' && session.agentId === agentId) continue;
        if (session?.status === 'queued' && session.offer?.offerId === r.offerId) continue;
        if (session?.status === 'queued' && !this.leases.queues.has(session.place.queueId)) continue;
        await this.commands.handle(
          agentAggregate.stream(agentId),
          { kind: 'release-offer', offerId: r.offerId, outcome: 'superseded', maxMissedOffers: this.config.MAX_MISSED_OFFERS, now },
          commandContext(now, 'system:router', `sweep-${r.offerId}`),
        );
      }
    }
  }

  /**
   * A conversation its agent's stream holds for a session no longer theirs is ended once it has looked so for
   * STRAY_CONVERSATION_GRACE_MS: otherwise it holds one of the agent's slots for good (see strayConversations).
   * The session's stream, read afresh, has the last word: a view that lags must not end a live conversation
   * (a session transferred and then assigned to the same agent again). The command is the session follow-up's
   * own, so whichever of the two comes second finds nothing to end; every router instance may do it, as a stray
   * conversation belongs to no queue, and only the one whose command ended it counts and logs it.
   */
  private async endStrayConversations(now: string): Promise<void> {
    const t = Date.parse(now);
    const seen = new Set<string>();
    for (const { agentId, sessionId } of strayConversations(this.view.runner.state)) {
      const key = `${agentId}/${sessionId}`;
      seen.add(key);
      const since = this.strays.get(key) ?? t;
      this.strays.set(key, since);
      if (t - since < STRAY_CONVERSATION_GRACE_MS) continue;
      try {
        const session = await this.commands.load(sessionAggregate.stream(sessionId), { fresh: true });
        if (session.state.status === 'assigned' && session.state.agentId === agentId) continue;
        // The stray's first sighting in the ID: the same pair straying again later is a new decision.
        const ended = await this.commands.handle(
          agentAggregate.stream(agentId),
          { kind: 'end-conversation', sessionId, now },
          commandContext(now, 'system:router', `end-stray:${agentId}:${sessionId}:${since}`),
        );
        if (ended.events.length === 0) continue;
        this.metrics.strayConversations.inc();
        this.logger.warn({ msg: 'ended a stray conversation: its session had ended or moved on, and its own follow-up had not ended it', agentId, sessionId, strayForMs: t - since });
      } catch (err) {
        // One stray that cannot be settled now (a NATS fault) does not hold up the rest of the pass.
        this.logger.warn({ msg: 'could not end a stray conversation; trying again on the next pass', agentId, sessionId, err: String(err) });
      }
    }
    for (const key of this.strays.keys()) if (!seen.has(key)) this.strays.delete(key);
  }

  /** Silent conversations: the customer (or, in an assigned chat, the agent) is asked first, then it ends. */
  private async checkIdle(now: string): Promise<void> {
    const t = Date.parse(now);
    for (const session of Object.values(this.view.runner.state.sessions)) {
      if (session.status !== 'intake' && session.status !== 'assigned') continue;
      if (session.status === 'assigned' && !this.leases.queues.has(session.place.queueId)) continue;
      const limits = this.center.idleTimeoutFor(session.core.entryPointId) ?? { warnAfterSeconds: this.config.SESSION_IDLE_WARN_SECONDS, endAfterSeconds: this.config.SESSION_IDLE_END_SECONDS };
      const silentMs = t - Date.parse(session.activity.lastActivityAt);
      const due = session.activity.idleWarnedAt === null ? limits.warnAfterSeconds : limits.endAfterSeconds;
      if (silentMs < due * 1000) continue;
      await this.commands.handle(
        sessionAggregate.stream(session.core.sessionId),
        { kind: 'check-idle', warnAfterSeconds: limits.warnAfterSeconds, endAfterSeconds: limits.endAfterSeconds, now },
        // One decision per silence, whichever router instance takes it.
        commandContext(now, 'system:router', `idle-${session.core.sessionId}-${session.activity.lastActivityAt}-${session.activity.idleWarnedAt ?? 'warn'}`),
      );
    }
  }

  /** The offer in the trace of the session's latest event (a customer's message, a declined offer...). */
  private tracedOffer(planned: PlannedOffer, now: string): Promise<void> {
    const attributes = { 'parley.session.id': planned.sessionId, 'parley.agent.id': planned.agentId, 'parley.queue.id': planned.decision.queueId };
    return traced('route offer', { parent: contextOfCarrier(this.sessionTraces.get(planned.sessionId)), attributes }, () => this.offer(planned, now));
  }

  private async offer({ sessionId, agentId, decision }: PlannedOffer, now: string): Promise<void> {
    const offerId = randomBytes(12).toString('base64url');
    const expiresAt = new Date(Date.parse(now) + this.config.OFFER_TIMEOUT_SECONDS * 1000).toISOString();
    try {
      await this.commands.handle(agentAggregate.stream(agentId), { kind: 'reserve-offer', offerId, sessionId, expiresAt, now }, commandContext(now, 'system:router', `reserve-${offerId}`));
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'conflict') return; // the view was behind; the next pass sees why
      throw err;
    }
    try {
      await this.commands.handle(sessionAggregate.stream(sessionId), { kind: 'offer', offerId, agentId, expiresAt, now, decision }, commandContext(now, 'system:router', `offer-${offerId}`));
      this.metrics.offers.inc({ outcome: 'made' });
      this.logger.log({ msg: 'offered', sessionId, agentId, offerId, queueId: decision.queueId, step: decision.step, tieBreak: decision.tieBreak });
    } catch (err) {
      if (!refused(err)) throw err; // it may have landed: the reservation sweep decides once the session says
      await this.commands.handle(
        agentAggregate.stream(agentId),
        { kind: 'release-offer', offerId, outcome: 'superseded', maxMissedOffers: this.config.MAX_MISSED_OFFERS, now },
        commandContext(now, 'system:router', `release-${offerId}`),
      );
    }
  }
}
