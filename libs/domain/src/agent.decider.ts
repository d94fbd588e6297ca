import { defineAggregate } from './aggregate.js';
import { conflict, notFound } from '@parley/errors';

export interface AgentProfile {
  displayName: string;
  kind: 'human' | 'bot';
  skills: Record<string, number>;
  languages: string[];
  capacity: number;
  capabilities: string[];
  /** Queues served; null means every queue. */
  queues: string[] | null;
  /** Seconds of wrap-up after each conversation, during which no offer is made. */
  wrapUpSeconds?: number;
}

export interface Reservation {
  offerId: string;
  sessionId: string;
  expiresAt: string;
}

interface Online {
  profile: AgentProfile;
  leaseSeconds: number;
  expiresAt: string;
  reservations: Reservation[];
  conversations: string[];
  missedOffers: number;
  /** When the agent last became free to take work: the tie-break for longest idle. */
  idleSince: string;
  /** Wrap-up after the last conversation runs until this instant. */
  wrapUpUntil?: string | null;
}

export type AgentState =
  { status: 'unknown' } | { status: 'offline'; profile: AgentProfile; conversations: string[] } | ({ status: 'available' } & Online) | ({ status: 'away'; reason: string | null } & Online);

export type AgentEvent =
  | { type: 'AgentLoggedIn'; data: { profile: AgentProfile; leaseSeconds: number; expiresAt: string; at: string } }
  | { type: 'AgentHeartbeatReceived'; data: { expiresAt: string } }
  | { type: 'AgentStateChanged'; data: { state: 'available' | 'away'; reason: string | null; at: string } }
  | { type: 'AgentLoggedOut'; data: { reason: 'requested' | 'lease-expired'; at: string } }
  | { type: 'AgentOfferReserved'; data: Reservation }
  | { type: 'AgentOfferReleased'; data: { offerId: string; outcome: 'rejected' | 'expired' | 'revoked' | 'superseded' } }
  | { type: 'AgentConversationStarted'; data: { sessionId: string; offerId: string } }
  | { type: 'AgentConversationEnded'; data: { sessionId: string; at: string; wrapUpUntil?: string | null } };

/** One kind of agent event, for handlers that take exactly that kind. */
export type AgentEventOf<T extends AgentEvent['type']> = Extract<AgentEvent, { type: T }>;

export type AgentCommand =
  | { kind: 'login'; profile: AgentProfile; leaseSeconds: number; now: string }
  | { kind: 'heartbeat'; now: string }
  | { kind: 'change-state'; state: 'available' | 'away' | 'offline'; reason: string | null; now: string }
  | { kind: 'expire-lease'; now: string }
  | { kind: 'reserve-offer'; offerId: string; sessionId: string; expiresAt: string; now: string }
  | { kind: 'release-offer'; offerId: string; outcome: 'rejected' | 'expired' | 'revoked' | 'superseded'; maxMissedOffers: number; now: string }
  | { kind: 'start-conversation'; sessionId: string; offerId: string }
  | { kind: 'end-conversation'; sessionId: string; now: string };

const assertNever = (x: never): never => {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
};

const plusSeconds = (iso: string, s: number) => new Date(Date.parse(iso) + s * 1000).toISOString();
const isOnline = (s: AgentState): s is Extract<AgentState, { status: 'available' | 'away' }> => s.status === 'available' || s.status === 'away';

/** In wrap-up after a conversation: logged in and available, but not offered anything yet. */
export function inWrapUp(state: AgentState, now: string): boolean {
  return (state.status === 'available' || state.status === 'away') && !!state.wrapUpUntil && Date.parse(state.wrapUpUntil) > Date.parse(now);
}

/** What the agent's desktop shows: wrap-up is a state of its own while it lasts. */
export function presenceOf(state: AgentState, now: string): 'available' | 'away' | 'offline' | 'wrap-up' {
  if (state.status === 'unknown' || state.status === 'offline') return 'offline';
  return inWrapUp(state, now) ? 'wrap-up' : state.status;
}

/**
 * Conversations plus every reservation not yet released: what counts against capacity. A reservation stops
 * counting only when an event releases it or turns it into a conversation, never because a clock passed its
 * expiry: an offer whose expiry one router has passed may still be accepted on a session stream another router
 * has not yet declined, and counting it out early is how an agent ends up over capacity. So no time comes in.
 */
export function agentLoad(state: AgentState): number {
  if (!isOnline(state)) return state.status === 'offline' ? state.conversations.length : 0;
  return state.conversations.length + state.reservations.length;
}

export const agentDecider = {
  initialState: (): AgentState => ({ status: 'unknown' }),

  decide(command: AgentCommand, state: AgentState): AgentEvent[] {
    switch (command.kind) {
      case 'login':
        return [
          {
            type: 'AgentLoggedIn',
            data: { profile: command.profile, leaseSeconds: command.leaseSeconds, expiresAt: plusSeconds(command.now, command.leaseSeconds), at: command.now },
          },
        ];
      case 'heartbeat':
        if (!isOnline(state) || Date.parse(state.expiresAt) <= Date.parse(command.now)) throw notFound('agent is not logged in; log in again');
        return [{ type: 'AgentHeartbeatReceived', data: { expiresAt: plusSeconds(command.now, state.leaseSeconds) } }];
      case 'change-state':
        if (!isOnline(state)) {
          if (command.state === 'offline') return [];
          throw notFound('agent is not logged in');
        }
        if (command.state === 'offline') return [{ type: 'AgentLoggedOut', data: { reason: 'requested', at: command.now } }];
        return [{ type: 'AgentStateChanged', data: { state: command.state, reason: command.state === 'away' ? command.reason : null, at: command.now } }];
      case 'expire-lease':
        if (!isOnline(state) || Date.parse(state.expiresAt) > Date.parse(command.now)) return [];
        return [{ type: 'AgentLoggedOut', data: { reason: 'lease-expired', at: command.now } }];
      case 'reserve-offer': {
        if (state.status !== 'available') throw conflict('agent is not available');
        if (state.reservations.some((r) => r.offerId === command.offerId)) return [];
        if (agentLoad(state) >= state.profile.capacity) throw conflict('agent is at capacity');
        return [{ type: 'AgentOfferReserved', data: { offerId: command.offerId, sessionId: command.sessionId, expiresAt: command.expiresAt } }];
      }
      case 'release-offer': {
        if (!isOnline(state) || !state.reservations.some((r) => r.offerId === command.offerId)) return [];
        const released: AgentEvent = { type: 'AgentOfferReleased', data: { offerId: command.offerId, outcome: command.outcome } };
        // Offers left to expire again and again mean nobody is at the desk: stop offering until they come back.
        if (command.outcome === 'expired' && state.status === 'available' && state.missedOffers + 1 >= command.maxMissedOffers) {
          return [released, { type: 'AgentStateChanged', data: { state: 'away', reason: 'missed-offers', at: command.now } }];
        }
        return [released];
      }
      case 'start-conversation': {
        if (state.status === 'unknown') throw notFound('agent unknown');
        if (state.conversations.includes(command.sessionId)) return [];
        return [{ type: 'AgentConversationStarted', data: { sessionId: command.sessionId, offerId: command.offerId } }];
      }
      case 'end-conversation':
        if (state.status === 'unknown' || !state.conversations.includes(command.sessionId)) return [];
        return [
          {
            type: 'AgentConversationEnded',
            data: { sessionId: command.sessionId, at: command.now, wrapUpUntil: state.profile.wrapUpSeconds ? plusSeconds(command.now, state.profile.wrapUpSeconds) : null },
          },
        ];
      default:
        return assertNever(command);
    }
  },

  evolve(state: AgentState, event: AgentEvent): AgentState {
    switch (event.type) {
      case 'AgentLoggedIn': {
        const carried = isOnline(state) ? state : null;
        return {
          status: 'available',
          profile: event.data.profile,
          leaseSeconds: event.data.leaseSeconds,
          expiresAt: event.data.expiresAt,
          reservations: carried?.reservations ?? [],
          conversations: carried?.conversations ?? (state.status === 'offline' ? state.conversations : []),
          missedOffers: 0,
          idleSince: carried?.idleSince ?? event.data.at,
        };
      }
      case 'AgentHeartbeatReceived':
        return isOnline(state) ? { ...state, expiresAt: event.data.expiresAt } : state;
      case 'AgentStateChanged': {
        if (!isOnline(state)) return state;
        const { status: _status, ...online } = state as Online & { status: string; reason?: string | null };
        const base: Online = { ...online, reservations: online.reservations, missedOffers: event.data.state === 'available' ? 0 : online.missedOffers };
        if (event.data.state === 'available') return { status: 'available', ...base, idleSince: state.status === 'available' ? state.idleSince : event.data.at };
        return { status: 'away', ...base, reason: event.data.reason };
      }
      case 'AgentLoggedOut':
        return isOnline(state) ? { status: 'offline', profile: state.profile, conversations: state.conversations } : state;
      case 'AgentOfferReserved':
        return isOnline(state) ? { ...state, reservations: [...state.reservations, event.data] } : state;
      case 'AgentOfferReleased':
        return isOnline(state)
          ? {
              ...state,
              reservations: state.reservations.filter((r) => r.offerId !== event.data.offerId),
              missedOffers: event.data.outcome === 'expired' ? state.missedOffers + 1 : state.missedOffers,
            }
          : state;
      case 'AgentConversationStarted':
        if (state.status === 'unknown') return state;
        if (state.status === 'offline') return { ...state, conversations: [...state.conversations, event.data.sessionId] };
        return {
          ...state,
          // Its own reservation, and any other for the same session: one left by a router that died between its
          // two writes of an earlier offer of this session to this agent would otherwise hold a slot for as long as
          // the conversation lasts (the router's sweep leaves a reservation whose session this agent holds).
          reservations: state.reservations.filter((r) => r.offerId !== event.data.offerId && r.sessionId !== event.data.sessionId),
          conversations: [...state.conversations, event.data.sessionId],
          missedOffers: 0,
        };
      case 'AgentConversationEnded':
        if (state.status === 'unknown') return state;
        if (state.status === 'offline') return { ...state, conversations: state.conversations.filter((c) => c !== event.data.sessionId) };
        return {
          ...state,
          conversations: state.conversations.filter((c) => c !== event.data.sessionId),
          idleSince: event.data.wrapUpUntil ?? event.data.at,
          wrapUpUntil: event.data.wrapUpUntil ?? null,
        };
      default:
        return assertNever(event);
    }
  },
};

/** The agent aggregate: `parley.v1.evt.agent.<agentId>`. */
export const agentAggregate = defineAggregate('agent', agentDecider);
