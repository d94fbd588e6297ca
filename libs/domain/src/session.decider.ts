import { conflict, forbidden, notFound } from '@parley/errors';

export interface ClientDetails {
  name: string;
  version: string;
  capabilities: string[];
}

export interface SessionCore {
  sessionId: string;
  entryPointId: string;
  channel: string;
  customerAddress: string;
  sessionAddress: string;
  client: ClientDetails | null;
  locale: string | null;
  openedAt: string;
}

export interface PendingOffer {
  offerId: string;
  agentId: string;
  expiresAt: string;
}

export interface QueuePlace {
  queueId: string;
  priority: number;
  /** Original arrival: kept through re-queues so a declined offer never costs the customer their place. */
  arrivedAt: string;
}

export type SessionState =
  | { status: 'none' }
  | { status: 'queued'; core: SessionCore; place: QueuePlace; offer: PendingOffer | null; messageIds: string[] }
  | { status: 'assigned'; core: SessionCore; place: QueuePlace; agentId: string; assignedAt: string; messageIds: string[] }
  | { status: 'ended'; core: SessionCore; endedBy: EndedBy; abandoned: boolean };

export type EndedBy = 'customer' | 'agent' | 'system';
export type OfferOutcome = 'rejected' | 'expired' | 'revoked';

export type SessionEvent =
  | { type: 'SessionOpened'; data: SessionCore }
  | { type: 'SessionQueued'; data: QueuePlace }
  | { type: 'CustomerMessageReceived'; data: { messageId: string; body: string; at: string } }
  | { type: 'SessionOffered'; data: PendingOffer & { at: string } }
  | { type: 'SessionOfferDeclined'; data: { offerId: string; agentId: string; outcome: OfferOutcome; reason: string | null; at: string } }
  | { type: 'SessionAssigned'; data: { offerId: string; agentId: string; at: string } }
  | { type: 'AgentMessageSent'; data: { messageId: string; agentId: string; body: string; at: string } }
  | { type: 'SessionEnded'; data: { endedBy: EndedBy; reason: string; disposition: string | null; abandoned: boolean; agentId: string | null; at: string } };

export type SessionCommand =
  | { kind: 'open'; core: SessionCore; queueId: string; priority: number }
  | { kind: 'receive-customer-message'; channel: string; from: string; messageId: string; body: string; now: string }
  | { kind: 'offer'; offerId: string; agentId: string; expiresAt: string; now: string }
  | { kind: 'accept-offer'; offerId: string; agentId: string; now: string }
  | { kind: 'decline-offer'; offerId: string; agentId: string | null; outcome: OfferOutcome; reason: string | null; now: string }
  | { kind: 'send-agent-message'; agentId: string; messageId: string; body: string; now: string }
  | { kind: 'end'; endedBy: EndedBy; agentId: string | null; from: string | null; reason: string; disposition: string | null; now: string };

const assertNever = (x: never): never => {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
};

const live = (state: SessionState) => {
  if (state.status === 'none' || state.status === 'ended') throw notFound('no open session with this id');
  return state;
};

export const sessionDecider = {
  initialState: (): SessionState => ({ status: 'none' }),

  decide(command: SessionCommand, state: SessionState): SessionEvent[] {
    switch (command.kind) {
      case 'open':
        if (state.status !== 'none') return [];
        return [
          { type: 'SessionOpened', data: command.core },
          { type: 'SessionQueued', data: { queueId: command.queueId, priority: command.priority, arrivedAt: command.core.openedAt } },
        ];
      case 'receive-customer-message': {
        const s = live(state);
        if (s.core.customerAddress !== command.from || s.core.channel !== command.channel) throw forbidden('the sender is not this session\'s customer');
        if (s.messageIds.includes(command.messageId)) return [];
        return [{ type: 'CustomerMessageReceived', data: { messageId: command.messageId, body: command.body, at: command.now } }];
      }
      case 'offer': {
        const s = live(state);
        if (s.status !== 'queued') throw conflict('session is not waiting in a queue');
        if (s.offer) throw conflict('session already has a pending offer', { offerId: s.offer.offerId });
        return [{ type: 'SessionOffered', data: { offerId: command.offerId, agentId: command.agentId, expiresAt: command.expiresAt, at: command.now } }];
      }
      case 'accept-offer': {
        if (state.status === 'assigned' && state.agentId === command.agentId) return []; // a retried accept
        const s = live(state);
        if (s.status !== 'queued' || !s.offer || s.offer.offerId !== command.offerId) throw notFound('no pending offer with this id');
        if (s.offer.agentId !== command.agentId) throw forbidden('this offer was made to another agent');
        if (Date.parse(s.offer.expiresAt) <= Date.parse(command.now)) throw conflict('the offer has expired');
        return [{ type: 'SessionAssigned', data: { offerId: command.offerId, agentId: command.agentId, at: command.now } }];
      }
      case 'decline-offer': {
        if (state.status !== 'queued' || !state.offer || state.offer.offerId !== command.offerId) {
          if (command.outcome === 'rejected') throw notFound('no pending offer with this id');
          return []; // expiry or revocation raced with an accept or another decline: nothing left to do
        }
        if (command.agentId !== null && state.offer.agentId !== command.agentId) throw forbidden('this offer was made to another agent');
        if (command.outcome === 'expired' && Date.parse(state.offer.expiresAt) > Date.parse(command.now)) return [];
        return [
          {
            type: 'SessionOfferDeclined',
            data: { offerId: command.offerId, agentId: state.offer.agentId, outcome: command.outcome, reason: command.reason, at: command.now },
          },
        ];
      }
      case 'send-agent-message': {
        const s = live(state);
        if (s.status !== 'assigned' || s.agentId !== command.agentId) throw forbidden('this session is not assigned to this agent');
        if (s.messageIds.includes(command.messageId)) return [];
        return [{ type: 'AgentMessageSent', data: { messageId: command.messageId, agentId: command.agentId, body: command.body, at: command.now } }];
      }
      case 'end': {
        if (state.status === 'ended') return [];
        const s = live(state);
        if (command.endedBy === 'customer' && command.from !== s.core.customerAddress) throw forbidden('the sender is not this session\'s customer');
        if (command.endedBy === 'agent' && (s.status !== 'assigned' || s.agentId !== command.agentId)) {
          throw forbidden('this session is not assigned to this agent');
        }
        return [
          {
            type: 'SessionEnded',
            data: {
              endedBy: command.endedBy,
              reason: command.reason,
              disposition: command.disposition,
              abandoned: s.status === 'queued',
              agentId: s.status === 'assigned' ? s.agentId : null,
              at: command.now,
            },
          },
        ];
      }
      default:
        return assertNever(command);
    }
  },

  evolve(state: SessionState, event: SessionEvent): SessionState {
    switch (event.type) {
      case 'SessionOpened':
        return { status: 'queued', core: event.data, place: { queueId: '', priority: 0, arrivedAt: event.data.openedAt }, offer: null, messageIds: [] };
      case 'SessionQueued':
        return state.status === 'queued' ? { ...state, place: event.data, offer: null } : state;
      case 'CustomerMessageReceived':
      case 'AgentMessageSent':
        return state.status === 'queued' || state.status === 'assigned'
          ? { ...state, messageIds: [...state.messageIds, event.data.messageId] }
          : state;
      case 'SessionOffered':
        return state.status === 'queued' ? { ...state, offer: { offerId: event.data.offerId, agentId: event.data.agentId, expiresAt: event.data.expiresAt } } : state;
      case 'SessionOfferDeclined':
        return state.status === 'queued' ? { ...state, offer: null } : state;
      case 'SessionAssigned':
        return state.status === 'queued'
          ? { status: 'assigned', core: state.core, place: state.place, agentId: event.data.agentId, assignedAt: event.data.at, messageIds: state.messageIds }
          : state;
      case 'SessionEnded':
        return state.status === 'none' || state.status === 'ended'
          ? state
          : { status: 'ended', core: state.core, endedBy: event.data.endedBy, abandoned: event.data.abandoned };
      default:
        return assertNever(event);
    }
  },
};

/** Session addresses embed the session ID after a fixed prefix so any instance can find the session without an index. */
export const SESSION_ADDRESS_PREFIX = 's-';

export function sessionAddressFor(sessionId: string, publishedAddress: string): string {
  const domain = publishedAddress.slice(publishedAddress.lastIndexOf('@') + 1);
  return `${SESSION_ADDRESS_PREFIX}${sessionId}@${domain}`;
}

export function sessionIdFromAddress(address: string): string | null {
  const at = address.lastIndexOf('@');
  const local = at < 0 ? address : address.slice(0, at);
  if (!local.startsWith(SESSION_ADDRESS_PREFIX)) return null;
  const id = local.slice(SESSION_ADDRESS_PREFIX.length);
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}
