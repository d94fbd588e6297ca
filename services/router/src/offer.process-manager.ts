import { Inject, Injectable } from '@nestjs/common';
import { type AgentEventOf, type SessionEventOf, type SessionState, type AgentState, agentAggregate, sessionAggregate } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { type Consumed, DeliveryPublisher, EventConsumer, On, SERVICE_CONFIG, commandContext, stateOf } from '@parley/service-kit';
import type { RouterConfig } from './router.config.js';

const sessions = stateOf(sessionAggregate);
const agents = stateOf(agentAggregate);

const followUp = (consumed: Consumed<unknown>, what: string) => commandContext(consumed.stored.metadata.at, 'system:router', `${what}:${consumed.stored.id}`, consumed.stored.metadata.correlationId);

/**
 * Keeps agents' streams in step with sessions', from the session events, idempotently: offers are delivered to
 * the agent, declined offers release the reservation, an accepted one becomes a conversation, an ended or
 * transferred session frees capacity.
 */
@Injectable()
@EventConsumer('router-session-followups')
export class SessionFollowUps {
  constructor(
    private readonly commands: CommandHandler,
    private readonly deliveries: DeliveryPublisher,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
  ) {}

  @On(sessions, 'SessionOffered')
  async offered(e: SessionEventOf<'SessionOffered'>, { state, stored }: Consumed<SessionState>): Promise<void> {
    if (state.status === 'none') return;
    const core = state.core;
    await this.deliveries.toAgent(e.data.agentId, {
      deliveryId: e.data.offerId,
      kind: 'offer',
      sessionId: stored.aggregateId,
      offerId: e.data.offerId,
      expiresAt: e.data.expiresAt,
      from: core.sessionAddress,
      customer: { channel: core.channel, client: core.client, locale: core.locale, answers: state.status === 'ended' || state.status === 'opened' ? {} : state.answers },
    });
  }

  @On(sessions, 'SessionOfferDeclined')
  async declined(e: SessionEventOf<'SessionOfferDeclined'>, consumed: Consumed<SessionState>): Promise<void> {
    const now = consumed.stored.metadata.at;
    await this.commands.handle(
      agentAggregate.stream(e.data.agentId),
      { kind: 'release-offer', offerId: e.data.offerId, outcome: e.data.outcome, maxMissedOffers: this.config.MAX_MISSED_OFFERS, now },
      followUp(consumed, 'release'),
    );
    if (e.data.outcome !== 'rejected') {
      await this.deliveries.toAgent(e.data.agentId, {
        deliveryId: `${e.data.offerId}.revoked`,
        kind: 'offer-revoked',
        sessionId: consumed.stored.aggregateId,
        offerId: e.data.offerId,
        body: e.data.outcome,
      });
    }
  }

  @On(sessions, 'SessionAssigned')
  async assigned(e: SessionEventOf<'SessionAssigned'>, consumed: Consumed<SessionState>): Promise<void> {
    await this.commands.handle(agentAggregate.stream(e.data.agentId), { kind: 'start-conversation', sessionId: consumed.stored.aggregateId, offerId: e.data.offerId }, followUp(consumed, 'start'));
  }

  @On(sessions, 'SessionEnded')
  async ended(e: SessionEventOf<'SessionEnded'>, consumed: Consumed<SessionState>): Promise<void> {
    if (!e.data.agentId) return;
    await this.commands.handle(
      agentAggregate.stream(e.data.agentId),
      { kind: 'end-conversation', sessionId: consumed.stored.aggregateId, now: consumed.stored.metadata.at },
      followUp(consumed, 'end'),
    );
  }

  @On(sessions, 'SessionTransferred')
  async transferred(e: SessionEventOf<'SessionTransferred'>, consumed: Consumed<SessionState>): Promise<void> {
    const sessionId = consumed.stored.aggregateId;
    await this.commands.handle(agentAggregate.stream(e.data.fromAgentId), { kind: 'end-conversation', sessionId, now: consumed.stored.metadata.at }, followUp(consumed, 'end'));
    await this.deliveries.toAgent(e.data.fromAgentId, { deliveryId: `${consumed.stored.id}.${e.data.fromAgentId}`, kind: 'session-ended', sessionId, body: 'transferred' });
  }
}

/** An agent who goes away or offline loses the offers in hand, so their customers are offered to someone else. */
@Injectable()
@EventConsumer('router-agent-followups')
export class AgentFollowUps {
  constructor(private readonly commands: CommandHandler) {}

  @On(agents, 'AgentLoggedOut', 'AgentStateChanged')
  async left(e: AgentEventOf<'AgentLoggedOut' | 'AgentStateChanged'>, { before, stored }: Consumed<AgentState>): Promise<void> {
    if (e.type === 'AgentStateChanged' && e.data.state !== 'away') return;
    const now = stored.metadata.at;
    // The agent's own stream says which offers were out: no scan of every session.
    const reservations = before.status === 'available' || before.status === 'away' ? before.reservations : [];
    // Each revoked on the session as it is (a revocation of an offer no longer out changes nothing), not on the
    // routing view, which can lag a transfer that put the session back in a queue with this very offer out.
    for (const r of reservations) {
      await this.commands.handle(
        sessionAggregate.stream(r.sessionId),
        { kind: 'decline-offer', offerId: r.offerId, agentId: null, outcome: 'revoked', reason: 'agent left', now },
        commandContext(now, 'system:router', `revoke:${r.offerId}`),
      );
    }
  }
}
