import type { AgentProfile, RoutingDecisionRecord, SessionCore } from '@parley/domain';
import { type AnalyticsEvent, eventInstant } from './analytics-event.js';
import type { Row } from './table-schemas.js';

export interface TableSink {
  sessions?(row: Row): void;
  offers?(row: Row): void;
  messages?(row: Row): void;
  agentStates?(row: Row): void;
}

export interface TableBuilderOptions {
  /** Message bodies are customers' words: only with `--include-bodies`. */
  includeBodies?: boolean;
}

/** What the wait-estimates join needs of every session, kept compact (one small record per session). */
export interface SessionOutcome {
  queueId: string | null;
  assignedAtMs: number | null;
  endedAtMs: number | null;
  abandoned: boolean;
}

interface OpenSession {
  core: SessionCore;
  answers: Record<string, string>;
  requirements: unknown;
  queueId: string | null;
  finalQueueId: string | null;
  priority: number | null;
  queuedAt: string | null;
  firstOfferAt: string | null;
  lastOfferAt: string | null;
  assignedAt: string | null;
  agentId: string | null;
  firstAgentId: string | null;
  firstAgentKind: string | null;
  handedToHuman: boolean;
  offers: number;
  transfers: number;
}

interface PendingOfferRow {
  row: Row;
  offeredMs: number;
}

interface AgentTrack {
  kind: string;
  capacity: number;
  presence: 'offline' | 'available' | 'away';
  reason: string | null;
  conversations: number;
  wrapUpUntilMs: number | null;
  state: string;
  stateReason: string | null;
  since: string;
  sinceConversations: number;
}

const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
const secondsBetween = (from: string | null, to: string | null) => (from === null || to === null ? null : Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000));

/**
 * Folds the event log into analyst tables in one pass. Rows leave as soon as they are final (a session when it
 * ends, an offer when it is answered, a message at once, an agent's interval when it closes), so memory holds
 * only what is open: live sessions, pending offers, agents.
 */
export class TableBuilder {
  private readonly open = new Map<string, OpenSession>();
  private readonly pendingOffers = new Map<string, PendingOfferRow>();
  private readonly agents = new Map<string, AgentTrack>();
  readonly outcomes = new Map<string, SessionOutcome>();
  private lastInstant: string | null = null;

  constructor(
    private readonly sink: TableSink,
    private readonly options: TableBuilderOptions = {},
  ) {}

  apply(e: AnalyticsEvent): void {
    const at = eventInstant(e);
    if (this.lastInstant === null || at > this.lastInstant) this.lastInstant = at;
    if (e.aggregate === 'session') this.applySession(e, at);
    else if (e.aggregate === 'agent') this.applyAgent(e, at);
  }

  /** Emits what is still open (sessions not ended, offers pending, agents' current intervals) as of `at`. */
  finish(at: string | null = this.lastInstant): void {
    for (const [id, s] of this.open) this.emitSession(id, s, null);
    this.open.clear();
    for (const { row } of this.pendingOffers.values()) this.sink.offers?.({ ...row, outcome: 'open' });
    this.pendingOffers.clear();
    if (at !== null)
      for (const [id, a] of this.agents) {
        this.advanceWrapUp(id, a, at);
        this.closeInterval(id, a, at);
      }
  }

  private applySession(e: AnalyticsEvent, at: string): void {
    const id = e.aggregateId;
    const s = this.open.get(id);
    switch (e.type) {
      case 'SessionOpened': {
        const core = e.data as SessionCore;
        this.open.set(id, {
          core,
          answers: {},
          requirements: null,
          queueId: null,
          finalQueueId: null,
          priority: null,
          queuedAt: null,
          firstOfferAt: null,
          lastOfferAt: null,
          assignedAt: null,
          agentId: null,
          firstAgentId: null,
          firstAgentKind: null,
          handedToHuman: false,
          offers: 0,
          transfers: 0,
        });
        this.outcomes.set(id, { queueId: null, assignedAtMs: null, endedAtMs: null, abandoned: false });
        return;
      }
      case 'IntakeAnswered': {
        const d = e.data as { attribute: string; answer: string };
        if (s) s.answers[d.attribute] = d.answer;
        return;
      }
      case 'SessionQueued': {
        const d = e.data as { queueId: string; priority: number; arrivedAt: string; requirements?: unknown };
        if (!s) return;
        if (s.queueId === null) {
          s.queueId = d.queueId;
          s.queuedAt = d.arrivedAt;
        }
        s.finalQueueId = d.queueId;
        s.priority = d.priority;
        s.requirements = d.requirements ?? null;
        const o = this.outcomes.get(id);
        if (o && o.queueId === null) o.queueId = d.queueId;
        return;
      }
      case 'CustomerMessageReceived':
      case 'AgentMessageSent': {
        const d = e.data as { messageId: string; body: string; at: string; agentId?: string };
        this.sink.messages?.({
          message_id: d.messageId,
          session_id: id,
          author: e.type === 'CustomerMessageReceived' ? 'customer' : 'agent',
          agent_id: d.agentId ?? null,
          sent_at: d.at ?? at,
          length: typeof d.body === 'string' ? [...d.body].length : 0,
          body: this.options.includeBodies ? (d.body ?? null) : null,
        });
        return;
      }
      case 'SessionOffered': {
        const d = e.data as { offerId: string; agentId: string; expiresAt: string; at: string; decision?: RoutingDecisionRecord };
        if (s) {
          s.offers += 1;
          s.firstOfferAt ??= d.at;
          s.lastOfferAt = d.at;
        }
        this.pendingOffers.set(d.offerId, {
          offeredMs: Date.parse(d.at),
          row: {
            offer_id: d.offerId,
            session_id: id,
            agent_id: d.agentId,
            queue_id: d.decision?.queueId ?? s?.finalQueueId ?? null,
            offered_at: d.at,
            expires_at: d.expiresAt,
            strategy: d.decision?.strategy ?? null,
            step: d.decision?.step ?? null,
            rule: d.decision?.rule ?? null,
            eligible_count: d.decision ? d.decision.eligible.length : null,
            tie_break: d.decision?.tieBreak ?? null,
            outcome: 'open',
            responded_at: null,
            response_seconds: null,
            reason: null,
          },
        });
        return;
      }
      case 'SessionOfferDeclined': {
        const d = e.data as { offerId: string; outcome: string; reason: string | null; at: string };
        this.closeOffer(d.offerId, d.outcome, d.at, d.reason);
        return;
      }
      case 'SessionAssigned': {
        const d = e.data as { offerId: string; agentId: string; at: string };
        this.closeOffer(d.offerId, 'accepted', d.at, null);
        if (!s) return;
        const kind = this.agents.get(d.agentId)?.kind ?? null;
        if (s.assignedAt === null) {
          s.assignedAt = d.at;
          s.firstAgentId = d.agentId;
          s.firstAgentKind = kind;
          const o = this.outcomes.get(id);
          if (o) o.assignedAtMs = Date.parse(d.at);
        } else if (kind === 'human' && s.firstAgentKind === 'bot') s.handedToHuman = true;
        s.agentId = d.agentId;
        return;
      }
      case 'SessionTransferred': {
        if (s) s.transfers += 1;
        return;
      }
      case 'SessionEnded': {
        const d = e.data as { endedBy: string; reason: string; disposition: string | null; abandoned: boolean; agentId: string | null; at: string };
        if (!s) return;
        this.open.delete(id);
        const o = this.outcomes.get(id);
        if (o) {
          o.endedAtMs = Date.parse(d.at);
          o.abandoned = d.abandoned;
        }
        this.emitSession(id, s, d);
        return;
      }
      default:
        return;
    }
  }

  private closeOffer(offerId: string, outcome: string, at: string, reason: string | null) {
    const p = this.pendingOffers.get(offerId);
    if (!p) return;
    this.pendingOffers.delete(offerId);
    this.sink.offers?.({ ...p.row, outcome, responded_at: at, response_seconds: Math.max(0, (Date.parse(at) - p.offeredMs) / 1000), reason });
  }

  /** The `sessions` rows of the sessions not ended yet, as `finish` would write them, leaving them open. */
  openSessionRows(): Row[] {
    return [...this.open].map(([id, s]) => this.sessionRow(id, s, null));
  }

  private emitSession(id: string, s: OpenSession, end: { endedBy: string; reason: string; disposition: string | null; abandoned: boolean; at: string } | null) {
    this.sink.sessions?.(this.sessionRow(id, s, end));
  }

  private sessionRow(id: string, s: OpenSession, end: { endedBy: string; reason: string; disposition: string | null; abandoned: boolean; at: string } | null): Row {
    const endedAt = end?.at ?? null;
    const abandoned = end ? end.abandoned : false;
    const waitEnd = s.assignedAt ?? (abandoned ? endedAt : null);
    return {
      session_id: id,
      entry_point_id: s.core.entryPointId,
      channel: s.core.channel,
      client_name: s.core.client?.name ?? null,
      client_version: s.core.client?.version ?? null,
      locale: s.core.locale ?? null,
      customer_id: s.core.customerId ?? null,
      intake_answers: JSON.stringify(s.answers),
      requirements: s.requirements === null ? null : JSON.stringify(s.requirements),
      queue_id: s.queueId,
      final_queue_id: s.finalQueueId,
      priority: s.priority,
      reached_queue: s.queuedAt !== null,
      opened_at: s.core.openedAt,
      queued_at: s.queuedAt,
      first_offer_at: s.firstOfferAt,
      assigned_at: s.assignedAt,
      ended_at: endedAt,
      wait_seconds: s.queuedAt === null ? null : secondsBetween(s.queuedAt, waitEnd),
      offer_to_assign_seconds: s.assignedAt === null ? null : secondsBetween(s.lastOfferAt, s.assignedAt),
      handle_seconds: s.assignedAt === null ? null : secondsBetween(s.assignedAt, endedAt),
      agent_id: s.agentId,
      first_agent_id: s.firstAgentId,
      first_agent_kind: s.firstAgentKind,
      handed_to_human: s.handedToHuman,
      offers: s.offers,
      transfers: s.transfers,
      disposition: end?.disposition ?? null,
      abandoned,
      ended_by: end?.endedBy ?? null,
      end_reason: end?.reason ?? null,
    };
  }

  private applyAgent(e: AnalyticsEvent, at: string): void {
    const id = e.aggregateId;
    let a = this.agents.get(id);
    if (a) this.advanceWrapUp(id, a, at);
    switch (e.type) {
      case 'AgentLoggedIn': {
        const d = e.data as { profile: AgentProfile };
        if (!a) {
          a = {
            kind: d.profile.kind,
            capacity: d.profile.capacity,
            presence: 'offline',
            reason: null,
            conversations: 0,
            wrapUpUntilMs: null,
            state: 'offline',
            stateReason: null,
            since: at,
            sinceConversations: 0,
          };
          this.agents.set(id, a);
        }
        a.kind = d.profile.kind;
        a.capacity = d.profile.capacity;
        a.presence = 'available';
        a.reason = null;
        break;
      }
      case 'AgentStateChanged': {
        const d = e.data as { state: 'available' | 'away'; reason: string | null };
        if (!a || a.presence === 'offline') return;
        a.presence = d.state;
        a.reason = d.state === 'away' ? d.reason : null;
        break;
      }
      case 'AgentLoggedOut':
        if (!a) return;
        a.presence = 'offline';
        a.reason = (e.data as { reason?: string }).reason ?? null;
        break;
      case 'AgentConversationStarted':
        if (!a) return;
        a.conversations += 1;
        break;
      case 'AgentConversationEnded': {
        if (!a) return;
        const d = e.data as { wrapUpUntil?: string | null };
        a.conversations = Math.max(0, a.conversations - 1);
        a.wrapUpUntilMs = ms(d.wrapUpUntil ?? null);
        break;
      }
      default:
        return;
    }
    this.transition(id, a, at);
  }

  private labelOf(a: AgentTrack, atMs: number): { state: string; reason: string | null } {
    if (a.presence === 'offline') return { state: 'offline', reason: a.reason };
    if (a.conversations > 0) return { state: 'busy', reason: null };
    if (a.presence === 'away') return { state: 'away', reason: a.reason };
    if (a.wrapUpUntilMs !== null && a.wrapUpUntilMs > atMs) return { state: 'wrap-up', reason: null };
    return { state: 'available', reason: null };
  }

  /** A wrap-up ends without an event: close it at its end before anything later happens to the agent. */
  private advanceWrapUp(id: string, a: AgentTrack, at: string) {
    if (a.state === 'wrap-up' && a.wrapUpUntilMs !== null && a.wrapUpUntilMs <= Date.parse(at)) {
      const end = new Date(a.wrapUpUntilMs).toISOString();
      this.transition(id, a, end);
    }
  }

  private transition(id: string, a: AgentTrack, at: string) {
    const next = this.labelOf(a, Date.parse(at));
    if (next.state === a.state && next.reason === a.stateReason && a.conversations === a.sinceConversations) return;
    this.closeInterval(id, a, at);
    a.state = next.state;
    a.stateReason = next.reason;
    a.since = at;
    a.sinceConversations = a.conversations;
  }

  private closeInterval(id: string, a: AgentTrack, at: string) {
    const seconds = secondsBetween(a.since, at) ?? 0;
    if (seconds <= 0 && a.state === 'offline') return;
    this.sink.agentStates?.({
      agent_id: id,
      agent_kind: a.kind,
      state: a.state,
      reason: a.stateReason,
      started_at: a.since,
      ended_at: at,
      seconds,
      conversations: a.sinceConversations,
      capacity: a.capacity,
    });
  }
}
