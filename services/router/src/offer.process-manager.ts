import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type AgentEvent, type SessionEvent, agentDecider, sessionDecider } from '@parley/domain';
import { CommandHandler, type StoredEvent, toDomainEvent } from '@parley/event-store';
import { ConsumerSupervisor, DeliveryPublisher, SERVICE_CONFIG, commandContext } from '@parley/service-kit';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

/**
 * Keeps agents' streams in step with sessions' (and the reverse), from the events, idempotently: offers are
 * delivered to the agent, declined offers release the reservation, an accepted one becomes a conversation, an
 * ended session frees capacity, and an agent who goes away or offline loses the offers in hand.
 */
@Injectable()
export class OfferProcessManager implements OnApplicationBootstrap {
  constructor(
    private readonly commands: CommandHandler,
    private readonly consumers: ConsumerSupervisor,
    private readonly deliveries: DeliveryPublisher,
    private readonly view: RoutingViewService,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start('router-session-followups', 'session', (e) => this.onSessionEvent(e));
    await this.consumers.start('router-agent-followups', 'agent', (e) => this.onAgentEvent(e));
  }

  async onSessionEvent(event: StoredEvent): Promise<void> {
    const e = toDomainEvent<SessionEvent>(event);
    const now = event.metadata.at;
    const ctx = (what: string) => commandContext(now, 'system:router', `${what}:${event.id}`, event.metadata.correlationId);
    const agent = (id: string) => ({ aggregate: 'agent', id });
    switch (e.type) {
      case 'SessionOffered': {
        const { state } = await this.commands.load(sessionDecider, { aggregate: 'session', id: event.aggregateId });
        if (state.status === 'none') return;
        const core = state.core;
        await this.deliveries.toAgent(e.data.agentId, {
          deliveryId: e.data.offerId,
          kind: 'offer',
          sessionId: event.aggregateId,
          offerId: e.data.offerId,
          expiresAt: e.data.expiresAt,
          from: core.sessionAddress,
          customer: { channel: core.channel, client: core.client, locale: core.locale, answers: state.status === 'ended' ? {} : state.answers },
        });
        return;
      }
      case 'SessionOfferDeclined':
        await this.commands.handle(
          agentDecider,
          agent(e.data.agentId),
          { kind: 'release-offer', offerId: e.data.offerId, outcome: e.data.outcome, maxMissedOffers: this.config.MAX_MISSED_OFFERS, now },
          ctx('release'),
        );
        if (e.data.outcome !== 'rejected') {
          await this.deliveries.toAgent(e.data.agentId, { deliveryId: `${e.data.offerId}.revoked`, kind: 'offer-revoked', sessionId: event.aggregateId, offerId: e.data.offerId, body: e.data.outcome });
        }
        return;
      case 'SessionAssigned':
        await this.commands.handle(agentDecider, agent(e.data.agentId), { kind: 'start-conversation', sessionId: event.aggregateId, offerId: e.data.offerId }, ctx('start'));
        return;
      case 'SessionEnded':
        if (e.data.agentId) await this.commands.handle(agentDecider, agent(e.data.agentId), { kind: 'end-conversation', sessionId: event.aggregateId, now }, ctx('end'));
        return;
      case 'SessionTransferred':
        await this.commands.handle(agentDecider, agent(e.data.fromAgentId), { kind: 'end-conversation', sessionId: event.aggregateId, now }, ctx('end'));
        await this.deliveries.toAgent(e.data.fromAgentId, { deliveryId: `${event.id}.${e.data.fromAgentId}`, kind: 'session-ended', sessionId: event.aggregateId, body: 'transferred' });
        return;
      default:
        return;
    }
  }

  async onAgentEvent(event: StoredEvent): Promise<void> {
    const e = toDomainEvent<AgentEvent>(event);
    const leaving = e.type === 'AgentLoggedOut' || (e.type === 'AgentStateChanged' && e.data.state === 'away');
    if (!leaving) return;
    const view = await this.view.fresh();
    const now = event.metadata.at;
    for (const session of Object.values(view.sessions)) {
      if (session.status !== 'queued' || session.offer?.agentId !== event.aggregateId) continue;
      await this.commands.handle(
        sessionDecider,
        { aggregate: 'session', id: session.core.sessionId },
        { kind: 'decline-offer', offerId: session.offer.offerId, agentId: null, outcome: 'revoked', reason: 'agent left', now },
        commandContext(now, 'system:router', `revoke:${session.offer.offerId}`),
      );
    }
  }
}
