import { Injectable } from '@nestjs/common';
import type { SessionCore } from '@parley/domain';
import { type Consumed, DeliveryPublisher, EventConsumer, On } from '@parley/service-kit';
import { type Conversation, conversationView } from './conversation.view.js';

/** A delivery's ID is fixed by the event and the recipient, so a redelivery after a crash repeats it exactly. */
const deliveryId = (eventId: string, recipient: string) => `${eventId}.${recipient}`;

/** Its durable's name: the status path asks how far it got (ConversationHandler.status). */
export const DELIVERIES_CONSUMER = 'buffer-deliveries';

/**
 * Turns session events into deliveries, after the fact (no dual writes): customer messages to the assigned
 * agent (the backlog first, in order, on assignment), agent replies to the customer from the session address,
 * and the end of the conversation to both sides. Acknowledged only after the delivery is stored.
 */
@Injectable()
@EventConsumer(DELIVERIES_CONSUMER)
export class DeliveryProcessManager {
  constructor(private readonly deliveries: DeliveryPublisher) {}

  @On(conversationView, 'CustomerMessageReceived')
  async customerMessage(e: { type: 'CustomerMessageReceived'; data: { body: string } }, { state, stored }: Consumed<Conversation>): Promise<void> {
    if (state.session.status !== 'assigned') return;
    await this.toAgent(state.session.agentId, state.session.core.sessionAddress, state.session.core.sessionId, stored.id, e.data.body, 'customer');
  }

  /** The conversation so far, in order, to the agent who accepted. */
  @On(conversationView, 'SessionAssigned')
  async assigned(e: { type: 'SessionAssigned'; data: { agentId: string } }, { state }: Consumed<Conversation>): Promise<void> {
    if (state.session.status === 'none') return;
    const core = state.session.core;
    for (const line of state.lines) await this.toAgent(e.data.agentId, core.sessionAddress, core.sessionId, line.eventId, line.body, line.author);
  }

  @On(conversationView, 'SessionTransferred')
  async transferred(_e: { type: 'SessionTransferred' }, { state, stored }: Consumed<Conversation>): Promise<void> {
    if (state.session.status === 'none') return;
    await this.toCustomer(state.session.core, stored.id, 'system', 'You are being transferred to another agent. Your conversation so far goes with you.');
  }

  @On(conversationView, 'AgentMessageSent')
  async agentMessage(e: { type: 'AgentMessageSent'; data: { body: string } }, { state, stored }: Consumed<Conversation>): Promise<void> {
    if (state.session.status === 'none') return;
    // The name the agent shows customers (their display name, never their ID or address).
    await this.toCustomer(state.session.core, stored.id, 'text', e.data.body, { agentName: state.agentName ?? 'Agent' });
  }

  @On(conversationView, 'SessionIdleWarned')
  async idle(e: { type: 'SessionIdleWarned'; data: { recipient: 'customer' | 'agent'; endsAt: string } }, { before, stored }: Consumed<Conversation>): Promise<void> {
    const session = before.session;
    if (session.status === 'none' || session.status === 'ended') return;
    if (e.data.recipient === 'agent' && session.status === 'assigned') {
      await this.deliveries.toAgent(session.agentId, {
        deliveryId: deliveryId(stored.id, session.agentId),
        kind: 'system',
        sessionId: session.core.sessionId,
        from: session.core.sessionAddress,
        body: `The customer has been silent for a while. The conversation ends at ${e.data.endsAt} unless one of you writes; end it now if it is done.`,
      });
      return;
    }
    await this.toCustomer(session.core, stored.id, 'system', 'Are you still there? This chat will close soon unless you write to us.');
  }

  @On(conversationView, 'SessionEnded')
  async ended(e: { type: 'SessionEnded'; data: { endedBy: string; agentId: string | null; reason: string } }, { state, stored }: Consumed<Conversation>): Promise<void> {
    if (state.session.status === 'none') return;
    const core = state.session.core;
    if (e.data.endedBy !== 'customer') await this.toCustomer(core, stored.id, 'system', 'The conversation has ended. Thank you for contacting us.');
    if (e.data.agentId && e.data.endedBy !== 'agent') {
      await this.deliveries.toAgent(e.data.agentId, {
        deliveryId: deliveryId(stored.id, e.data.agentId),
        kind: 'session-ended',
        sessionId: core.sessionId,
        from: core.sessionAddress,
        body: e.data.reason,
      });
    }
  }

  /** A delivery to the session's customer, from the session address, under an ID fixed by the event. */
  private toCustomer(core: SessionCore, eventId: string, kind: 'text' | 'system', body: string, extra: { agentName?: string } = {}): Promise<void> {
    return this.deliveries.toCustomer(core.channel, {
      deliveryId: deliveryId(eventId, 'customer'),
      sessionId: core.sessionId,
      to: core.customerAddress,
      from: core.sessionAddress,
      kind,
      body,
      ...extra,
    });
  }

  /** Agents only ever see the session address, never the customer's own. */
  private async toAgent(agentId: string, sessionAddress: string, sessionId: string, eventId: string, body: string, author: 'customer' | 'agent'): Promise<void> {
    await this.deliveries.toAgent(agentId, { deliveryId: deliveryId(eventId, agentId), kind: 'message', sessionId, from: sessionAddress, body, author });
  }
}
