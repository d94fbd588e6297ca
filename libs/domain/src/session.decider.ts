import { conflict, forbidden, invalidPayload, notFound } from '@parley/errors';
import { defineAggregate } from './aggregate.js';
import { type IntakeFlow, type Requirements, type RouteDecision, judgeAnswer, mergeRoute } from './intake-flow.js';

/** Why an offer went where it went: stored on the offer event, so any decision can be explained later. */
export interface RoutingDecisionRecord {
  queueId: string;
  strategy: string;
  step: number;
  rule: string;
  eligible: string[];
  tieBreak: string;
}

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
  /** The customer's ID when the channel knows one (a logged-in web user, a CRM contact). */
  customerId?: string | null;
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
  /** What the agent must have: skills at levels, language, client-compatible capabilities. */
  requirements?: Requirements;
  /** Not routed before this instant: a message left outside business hours waits for the opening. */
  notBefore?: string | null;
  /** A transfer to a named agent: only that agent is offered the session. */
  targetAgentId?: string | null;
  /** When the session was last transferred (its customer is told so before any queue status that follows). */
  transferredAt?: string | null;
}

export interface IntakeProgress {
  flowId: string;
  questionId: string;
  attempts: number;
  route: RouteDecision;
  answeredMessageIds: string[];
}

export type Answers = Record<string, string>;

/** Message IDs are each author's own: a customer's `X` and an agent's `X` are two messages. */
export interface SeenMessages {
  customer: string[];
  agent: string[];
}

/** When the conversation last moved, and whether the silence was already pointed out since. */
export interface Activity {
  lastActivityAt: string;
  idleWarnedAt: string | null;
}

/**
 * Every state is one a session really is in: `opened` is the instant between its opening and its first step
 * (intake or a queue), never a queue with no ID.
 */
export type SessionState =
  | { status: 'none' }
  | { status: 'opened'; core: SessionCore; messages: SeenMessages; activity: Activity }
  | { status: 'intake'; core: SessionCore; intake: IntakeProgress; answers: Answers; messages: SeenMessages; activity: Activity }
  | { status: 'queued'; core: SessionCore; place: QueuePlace; offer: PendingOffer | null; answers: Answers; messages: SeenMessages; activity: Activity }
  | {
      status: 'assigned';
      core: SessionCore;
      place: QueuePlace;
      agentId: string;
      assignedAt: string;
      answers: Answers;
      messages: SeenMessages;
      activity: Activity;
      /** A supervisor who took the conversation over: the agent keeps it (capacity, ending it) but no longer writes. */
      takenOverBy?: { supervisor: string; displayName: string };
    }
  | { status: 'ended'; core: SessionCore; endedBy: EndedBy; abandoned: boolean };

export type LiveSession = Exclude<SessionState, { status: 'none' | 'ended' }>;

export type EndedBy = 'customer' | 'agent' | 'system';

/** One kind of session event, for handlers that take exactly that kind. */
export type SessionEventOf<T extends SessionEvent['type']> = Extract<SessionEvent, { type: T }>;
export type OfferOutcome = 'rejected' | 'expired' | 'revoked';

export type SessionEvent =
  | { type: 'SessionOpened'; data: SessionCore }
  | { type: 'SessionQueued'; data: QueuePlace }
  | { type: 'IntakeStarted'; data: { flowId: string; questionId: string; route: RouteDecision } }
  | { type: 'IntakeAnswered'; data: { messageId: string; questionId: string; attribute: string; answer: string; next: string | null; route: RouteDecision } }
  | { type: 'IntakeAnswerRejected'; data: { messageId: string; questionId: string; attempt: number } }
  | { type: 'IntakeGaveUp'; data: { messageId: string; questionId: string; route: RouteDecision } }
  | { type: 'CustomerMessageReceived'; data: { messageId: string; body: string; at: string } }
  | { type: 'SessionOffered'; data: PendingOffer & { at: string; decision?: RoutingDecisionRecord } }
  | { type: 'SessionOfferDeclined'; data: { offerId: string; agentId: string; outcome: OfferOutcome; reason: string | null; at: string } }
  | { type: 'SessionAssigned'; data: { offerId: string; agentId: string; at: string; agentName?: string } }
  | { type: 'AgentMessageSent'; data: { messageId: string; agentId: string; body: string; at: string } }
  | { type: 'SessionTransferred'; data: { fromAgentId: string; toQueueId: string; toAgentId: string | null; reason: string | null; at: string } }
  | { type: 'SessionEnded'; data: { endedBy: EndedBy; reason: string; disposition: string | null; abandoned: boolean; agentId: string | null; at: string } }
  | { type: 'SessionIdleWarned'; data: { recipient: 'customer' | 'agent'; idleSince: string; endsAt: string; at: string } }
  | { type: 'SessionRated'; data: { ratingId: string; score: number; comment: string | null; at: string } }
  | { type: 'SessionNoteAdded'; data: { noteId: string; agentId: string; body: string; at: string } }
  | { type: 'SupervisorWhispered'; data: { whisperId: string; supervisor: string; agentId: string; body: string; at: string } }
  | { type: 'SessionTakenOver'; data: { supervisor: string; displayName: string; fromAgentId: string; at: string } }
  | { type: 'SupervisorMessageSent'; data: { messageId: string; supervisor: string; displayName: string; body: string; at: string } };

export type SessionCommand =
  | { kind: 'open'; core: SessionCore; route: RouteDecision; intake: { flowId: string; start: string } | null; notBefore: string | null }
  | { kind: 'answer-intake'; flow: IntakeFlow; messageId: string; text: string; now: string }
  | { kind: 'receive-customer-message'; channel: string; from: string; messageId: string; body: string; now: string }
  | { kind: 'offer'; offerId: string; agentId: string; expiresAt: string; now: string; decision?: RoutingDecisionRecord }
  | { kind: 'transfer'; agentId: string; toQueueId: string | null; toAgentId: string | null; reason: string | null; now: string }
  | { kind: 'accept-offer'; offerId: string; agentId: string; agentName?: string; now: string }
  | { kind: 'decline-offer'; offerId: string; agentId: string | null; outcome: OfferOutcome; reason: string | null; now: string }
  | { kind: 'send-agent-message'; agentId: string; messageId: string; body: string; now: string }
  | { kind: 'end'; endedBy: EndedBy; agentId: string | null; from: string | null; channel?: string | null; reason: string; disposition: string | null; now: string }
  | { kind: 'check-idle'; warnAfterSeconds: number; endAfterSeconds: number; now: string }
  | { kind: 'rate'; channel: string; from: string; ratingId: string; score: number; comment: string | null; now: string }
  | { kind: 'add-note'; agentId: string; noteId: string; body: string; now: string }
  | { kind: 'whisper'; supervisor: string; whisperId: string; body: string; now: string }
  | { kind: 'take-over'; supervisor: string; displayName: string; now: string }
  | { kind: 'send-supervisor-message'; supervisor: string; displayName: string; messageId: string; body: string; now: string };

const assertNever = (x: never): never => {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
};

const live = (state: SessionState): LiveSession => {
  if (state.status === 'none' || state.status === 'ended') throw notFound('no open session with this id');
  return state;
};

const secondsBetween = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;
const plusSeconds = (iso: string, s: number) => new Date(Date.parse(iso) + s * 1000).toISOString();
const noMessages = (): SeenMessages => ({ customer: [], agent: [] });
const active = (at: string): Activity => ({ lastActivityAt: at, idleWarnedAt: null });

/** The customer of a session is the address on the channel it opened on: both must match, on every command. */
const isCustomer = (s: LiveSession, channel: string | null | undefined, from: string | null) =>
  from === s.core.customerAddress && (channel === undefined || channel === null || channel === s.core.channel);

export const sessionDecider = {
  initialState: (): SessionState => ({ status: 'none' }),

  decide(command: SessionCommand, state: SessionState): SessionEvent[] {
    switch (command.kind) {
      case 'open':
        // An open stored in two appends whose second never landed (the connection dropped between them) is left
        // `opened`, neither queued nor in intake: opening it again writes what is missing, queued as it arrived.
        if (state.status === 'opened') {
          return command.intake
            ? [{ type: 'IntakeStarted', data: { flowId: command.intake.flowId, questionId: command.intake.start, route: command.route } }]
            : [queuedBy(command.route, state.core.openedAt, command.notBefore)];
        }
        if (state.status !== 'none') return [];
        if (command.intake) {
          return [
            { type: 'SessionOpened', data: command.core },
            { type: 'IntakeStarted', data: { flowId: command.intake.flowId, questionId: command.intake.start, route: command.route } },
          ];
        }
        return [{ type: 'SessionOpened', data: command.core }, queuedBy(command.route, command.core.openedAt, command.notBefore)];
      case 'answer-intake': {
        if (state.status !== 'intake' || state.intake.answeredMessageIds.includes(command.messageId)) return [];
        const { intake } = state;
        const outcome = judgeAnswer(command.flow, intake.questionId, command.text, intake.attempts + 1);
        switch (outcome.kind) {
          case 'rejected':
            return [{ type: 'IntakeAnswerRejected', data: { messageId: command.messageId, questionId: intake.questionId, attempt: outcome.attempt } }];
          case 'gave-up': {
            const route = mergeRoute(intake.route, command.flow.fallback);
            return [{ type: 'IntakeGaveUp', data: { messageId: command.messageId, questionId: intake.questionId, route } }, queuedBy(route, command.now, null)];
          }
          case 'accepted': {
            const route = mergeRoute(intake.route, outcome.route);
            const answered: SessionEvent = {
              type: 'IntakeAnswered',
              data: { messageId: command.messageId, questionId: intake.questionId, attribute: outcome.attribute, answer: outcome.answer, next: outcome.next, route },
            };
            return outcome.next ? [answered] : [answered, queuedBy(route, command.now, null)];
          }
          default:
            return assertNever(outcome);
        }
      }
      case 'receive-customer-message': {
        const s = live(state);
        if (!isCustomer(s, command.channel, command.from)) throw forbidden("the sender is not this session's customer");
        if (s.messages.customer.includes(command.messageId)) return [];
        return [{ type: 'CustomerMessageReceived', data: { messageId: command.messageId, body: command.body, at: command.now } }];
      }
      case 'offer': {
        const s = live(state);
        if (s.status !== 'queued') throw conflict('session is not waiting in a queue');
        if (s.place.notBefore && Date.parse(s.place.notBefore) > Date.parse(command.now)) throw conflict('session waits for the next opening');
        if (s.offer) throw conflict('session already has a pending offer', { offerId: s.offer.offerId });
        if (s.place.targetAgentId && s.place.targetAgentId !== command.agentId) throw conflict('session was transferred to another agent');
        return [
          {
            type: 'SessionOffered',
            data: { offerId: command.offerId, agentId: command.agentId, expiresAt: command.expiresAt, at: command.now, ...(command.decision ? { decision: command.decision } : {}) },
          },
        ];
      }
      case 'transfer': {
        const s = live(state);
        if (s.status !== 'assigned' || s.agentId !== command.agentId) throw forbidden('this session is not assigned to this agent');
        if (command.toAgentId === command.agentId) throw conflict('cannot transfer a session to its own agent');
        return [
          {
            type: 'SessionTransferred',
            data: { fromAgentId: command.agentId, toQueueId: command.toQueueId ?? s.place.queueId, toAgentId: command.toAgentId, reason: command.reason, at: command.now },
          },
        ];
      }
      case 'accept-offer': {
        if (state.status === 'assigned' && state.agentId === command.agentId) return []; // a retried accept
        const s = live(state);
        if (s.status !== 'queued' || !s.offer || s.offer.offerId !== command.offerId) throw notFound('no pending offer with this id');
        if (s.offer.agentId !== command.agentId) throw forbidden('this offer was made to another agent');
        if (Date.parse(s.offer.expiresAt) <= Date.parse(command.now)) throw conflict('the offer has expired');
        return [{ type: 'SessionAssigned', data: { offerId: command.offerId, agentId: command.agentId, at: command.now, ...(command.agentName ? { agentName: command.agentName } : {}) } }];
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
        if (s.messages.agent.includes(command.messageId)) return [];
        if (s.takenOverBy) throw conflict(`${s.takenOverBy.displayName} took this conversation over`, { takenOverBy: s.takenOverBy.supervisor });
        return [{ type: 'AgentMessageSent', data: { messageId: command.messageId, agentId: command.agentId, body: command.body, at: command.now } }];
      }
      case 'end': {
        if (state.status === 'ended') return [];
        const s = live(state);
        if (command.endedBy === 'customer' && !isCustomer(s, command.channel ?? null, command.from)) throw forbidden("the sender is not this session's customer");
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
              abandoned: s.status !== 'assigned',
              agentId: s.status === 'assigned' ? s.agentId : null,
              at: command.now,
            },
          },
        ];
      }
      case 'rate': {
        // After the end too: the customer rates the conversation they just had, once per rating ID.
        if (state.status === 'none') throw notFound('no session with this id');
        if (state.core.customerAddress !== command.from || state.core.channel !== command.channel) throw forbidden("the sender is not this session's customer");
        if (!Number.isInteger(command.score) || command.score < 1 || command.score > 5) throw invalidPayload('score must be 1 to 5', { fields: { score: ['1..5'] } });
        return [{ type: 'SessionRated', data: { ratingId: command.ratingId, score: command.score, comment: command.comment, at: command.now } }];
      }
      case 'add-note': {
        // Internal: never delivered to the customer.
        const s = live(state);
        if (s.status !== 'assigned' || s.agentId !== command.agentId) throw forbidden('this session is not assigned to this agent');
        return [{ type: 'SessionNoteAdded', data: { noteId: command.noteId, agentId: command.agentId, body: command.body, at: command.now } }];
      }
      case 'whisper': {
        const s = live(state);
        if (s.status !== 'assigned') throw conflict('only a conversation with an agent can be whispered to');
        return [{ type: 'SupervisorWhispered', data: { whisperId: command.whisperId, supervisor: command.supervisor, agentId: s.agentId, body: command.body, at: command.now } }];
      }
      case 'take-over': {
        const s = live(state);
        if (s.status !== 'assigned') throw conflict('only a conversation with an agent can be taken over');
        return [{ type: 'SessionTakenOver', data: { supervisor: command.supervisor, displayName: command.displayName, fromAgentId: s.agentId, at: command.now } }];
      }
      case 'send-supervisor-message': {
        const s = live(state);
        if (s.status !== 'assigned') throw conflict('this session is not in a conversation');
        return [{ type: 'SupervisorMessageSent', data: { messageId: command.messageId, supervisor: command.supervisor, displayName: command.displayName, body: command.body, at: command.now } }];
      }
      case 'check-idle': {
        // Only a conversation someone is silent in: a customer mid-intake, or an assigned chat. Waiting in a queue
        // is the contact center's doing, never the customer's.
        if (state.status !== 'intake' && state.status !== 'assigned') return [];
        const idleSince = state.activity.lastActivityAt;
        const silent = secondsBetween(idleSince, command.now);
        if (state.activity.idleWarnedAt === null) {
          if (silent < command.warnAfterSeconds) return [];
          const recipient = state.status === 'assigned' ? 'agent' : 'customer';
          return [{ type: 'SessionIdleWarned', data: { recipient, idleSince, endsAt: plusSeconds(idleSince, command.endAfterSeconds), at: command.now } }];
        }
        if (silent < command.endAfterSeconds) return [];
        return [
          {
            type: 'SessionEnded',
            data: { endedBy: 'system', reason: 'idle', disposition: null, abandoned: state.status !== 'assigned', agentId: state.status === 'assigned' ? state.agentId : null, at: command.now },
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
        return state.status === 'none' ? { status: 'opened', core: event.data, messages: noMessages(), activity: active(event.data.openedAt) } : state;
      case 'SessionQueued':
        if (state.status === 'queued') return { ...state, place: event.data, offer: null };
        if (state.status === 'opened') return { status: 'queued', core: state.core, place: event.data, offer: null, answers: {}, messages: state.messages, activity: state.activity };
        if (state.status === 'intake') return { status: 'queued', core: state.core, place: event.data, offer: null, answers: state.answers, messages: state.messages, activity: state.activity };
        return state;
      case 'IntakeStarted':
        if (state.status !== 'opened') return state;
        return {
          status: 'intake',
          core: state.core,
          intake: { flowId: event.data.flowId, questionId: event.data.questionId, attempts: 0, route: event.data.route, answeredMessageIds: [] },
          answers: {},
          messages: state.messages,
          activity: state.activity,
        };
      case 'IntakeAnswered':
        if (state.status !== 'intake') return state;
        return {
          ...state,
          answers: { ...state.answers, [event.data.attribute]: event.data.answer },
          intake: {
            ...state.intake,
            questionId: event.data.next ?? state.intake.questionId,
            attempts: 0,
            route: event.data.route,
            answeredMessageIds: [...state.intake.answeredMessageIds, event.data.messageId],
          },
        };
      case 'IntakeAnswerRejected':
        if (state.status !== 'intake') return state;
        return { ...state, intake: { ...state.intake, attempts: event.data.attempt, answeredMessageIds: [...state.intake.answeredMessageIds, event.data.messageId] } };
      case 'IntakeGaveUp':
        if (state.status !== 'intake') return state;
        return { ...state, intake: { ...state.intake, route: event.data.route, answeredMessageIds: [...state.intake.answeredMessageIds, event.data.messageId] } };
      case 'CustomerMessageReceived':
        return state.status === 'none' || state.status === 'ended'
          ? state
          : { ...state, messages: { ...state.messages, customer: [...state.messages.customer, event.data.messageId] }, activity: active(event.data.at) };
      case 'AgentMessageSent':
        return state.status === 'none' || state.status === 'ended'
          ? state
          : { ...state, messages: { ...state.messages, agent: [...state.messages.agent, event.data.messageId] }, activity: active(event.data.at) };
      case 'SessionOffered':
        return state.status === 'queued' ? { ...state, offer: { offerId: event.data.offerId, agentId: event.data.agentId, expiresAt: event.data.expiresAt } } : state;
      case 'SessionOfferDeclined':
        return state.status === 'queued' ? { ...state, offer: null } : state;
      case 'SessionAssigned':
        return state.status === 'queued'
          ? {
              status: 'assigned',
              core: state.core,
              place: state.place,
              agentId: event.data.agentId,
              assignedAt: event.data.at,
              answers: state.answers,
              messages: state.messages,
              activity: active(event.data.at),
            }
          : state;
      case 'SessionTransferred':
        // Back in a queue with its original arrival and its history: the transfer never costs the customer their place.
        return state.status === 'assigned'
          ? {
              status: 'queued',
              core: state.core,
              place: { ...state.place, queueId: event.data.toQueueId, targetAgentId: event.data.toAgentId, transferredAt: event.data.at },
              offer: null,
              answers: state.answers,
              messages: state.messages,
              activity: active(event.data.at),
            }
          : state;
      case 'SessionIdleWarned':
        return state.status === 'none' || state.status === 'ended' ? state : { ...state, activity: { ...state.activity, idleWarnedAt: event.data.at } };
      case 'SessionEnded':
        return state.status === 'none' || state.status === 'ended' ? state : { status: 'ended', core: state.core, endedBy: event.data.endedBy, abandoned: event.data.abandoned };
      case 'SessionTakenOver':
        return state.status === 'assigned' ? { ...state, takenOverBy: { supervisor: event.data.supervisor, displayName: event.data.displayName } } : state;
      case 'SessionRated':
      case 'SessionNoteAdded':
      case 'SupervisorWhispered':
      case 'SupervisorMessageSent':
        // Recorded for the people around the conversation; routing and capacity do not change.
        return state;
      default:
        return assertNever(event);
    }
  },
};

/** The session aggregate: its decider bound to its streams, `parley.v1.evt.session.<sessionId>`. */
export const sessionAggregate = defineAggregate('session', sessionDecider);

function queuedBy(route: RouteDecision, arrivedAt: string, notBefore: string | null): SessionEvent {
  return { type: 'SessionQueued', data: { queueId: route.queueId, priority: route.priority, arrivedAt, requirements: route.requirements, notBefore } };
}

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
