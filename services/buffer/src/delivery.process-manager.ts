import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { type SessionCore, type SessionEvent, agentDecider } from '@parley/domain';
import { type EventStore, type StoredEvent, foldEvents, toDomainEvent } from '@parley/event-store';
import { ConsumerSupervisor, DeliveryPublisher, EVENT_STORE } from '@parley/service-kit';
import { sessionStream, stateAt } from './session-streams.js';

/** A delivery's ID is fixed by the event and the recipient, so a redelivery after a crash repeats it exactly. */
const deliveryId = (event: StoredEvent, recipient: string) => `${event.id}.${recipient}`;

/**
 * Turns session events into deliveries, after the fact (no dual writes): customer messages to the assigned
 * agent (the backlog first, in order, on assignment), agent replies to the customer from the session address,
 * and the end of the conversation to both sides. Acknowledged only after the delivery is stored.
 */
@Injectable()
export class DeliveryProcessManager implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly consumers: ConsumerSupervisor,
    private readonly deliveries: DeliveryPublisher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.consumers.start('buffer-deliveries', 'session', (event) => this.handle(event));
  }

  async handle(event: StoredEvent): Promise<void> {
    const e = toDomainEvent<SessionEvent>(event);
    if (!['CustomerMessageReceived', 'SessionAssigned', 'AgentMessageSent', 'SessionEnded', 'SessionTransferred'].includes(e.type)) return;
    const { events } = await this.store.readStream(sessionStream(event.aggregateId));
    const state = stateAt(events, event.position);
    if (state.status === 'none') return;
    const { core } = state;
    switch (e.type) {
      case 'CustomerMessageReceived':
        if (state.status === 'assigned') await this.toAgent(state.agentId, core.sessionAddress, event, e.data.body, 'customer');
        return;
      case 'SessionAssigned': {
        // The conversation so far, in order: what the customer wrote while waiting and, after a transfer, what
        // was said with earlier agents. Intake answers reach the agent as the offer's answers, not as chat lines.
        const queuedAt = events.find((x) => x.type === 'SessionQueued')?.position ?? 0;
        for (const earlier of events) {
          if (earlier.position >= event.position) break;
          if (earlier.position < queuedAt) continue;
          const m = toDomainEvent<SessionEvent>(earlier);
          if (m.type === 'CustomerMessageReceived') await this.toAgent(e.data.agentId, core.sessionAddress, earlier, m.data.body, 'customer');
          if (m.type === 'AgentMessageSent') await this.toAgent(e.data.agentId, core.sessionAddress, earlier, m.data.body, 'agent');
        }
        return;
      }
      case 'SessionTransferred':
        await this.toCustomer(core, event, 'system', 'You are being transferred to another agent. Your conversation so far goes with you.');
        return;
      case 'AgentMessageSent':
        await this.toCustomer(core, event, 'text', e.data.body, { agentName: await this.displayNameOf(e.data.agentId) });
        return;
      case 'SessionEnded':
        if (e.data.endedBy !== 'customer') await this.toCustomer(core, event, 'system', 'The conversation has ended. Thank you for contacting us.');
        if (e.data.agentId && e.data.endedBy !== 'agent') {
          await this.deliveries.toAgent(e.data.agentId, {
            deliveryId: deliveryId(event, e.data.agentId),
            kind: 'session-ended',
            sessionId: core.sessionId,
            from: core.sessionAddress,
            body: e.data.reason,
          });
        }
        return;
    }
  }

  /** A delivery to the session's customer, from the session address, under an ID fixed by the event. */
  private toCustomer(core: SessionCore, event: StoredEvent, kind: 'text' | 'system', body: string, extra: { agentName?: string } = {}): Promise<void> {
    return this.deliveries.toCustomer(core.channel, {
      deliveryId: deliveryId(event, 'customer'),
      sessionId: core.sessionId,
      to: core.customerAddress,
      from: core.sessionAddress,
      kind,
      body,
      ...extra,
    });
  }

  /** The name an agent shows customers (their display name, never their ID or address). */
  private async displayNameOf(agentId: string): Promise<string> {
    const { events } = await this.store.readStream({ aggregate: 'agent', id: agentId });
    const state = foldEvents(agentDecider, events);
    return state.status === 'unknown' ? 'Agent' : state.profile.displayName;
  }

  /** Agents only ever see the session address, never the customer's own. */
  private async toAgent(agentId: string, sessionAddress: string, event: StoredEvent, body: string, author: 'customer' | 'agent'): Promise<void> {
    await this.deliveries.toAgent(agentId, { deliveryId: deliveryId(event, agentId), kind: 'message', sessionId: event.aggregateId, from: sessionAddress, body, author });
  }
}

