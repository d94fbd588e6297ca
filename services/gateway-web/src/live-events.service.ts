import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type AgentEvent, type AgentState, type SessionEvent, agentDecider, presenceOf } from '@parley/domain';
import { KpiHistory, decodeEvent } from '@parley/analytics';
import { EVENTS_STREAM, jetStreamClientFor, jetStreamManagerFor, openKvBucket, untilJetStreamAnswers } from '@parley/event-store';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, streamDurability } from '@parley/service-kit';
import { createHash } from 'node:crypto';

const EVENTS_FILTER = 'parley.v1.evt.>';
/** The web channel's own data: what visitors gave in the pre-chat form, by session. */
const PRE_CHAT_BUCKET = 'parley_web_prechat';

/** One line of a conversation as the people around it see it. `note` and `whisper` never reach the customer. */
export interface TranscriptItem {
  id: string;
  at: string;
  kind: 'customer' | 'agent' | 'supervisor' | 'system' | 'note' | 'whisper';
  /** Who wrote it: an agent's or supervisor's display name; absent for the customer and the system. */
  name?: string;
  agentId?: string;
  body: string;
}

export interface SessionRecord {
  sessionId: string;
  channel: string;
  entryPointId: string;
  client: { name: string; version: string; capabilities: string[] } | null;
  locale: string | null;
  customerId: string | null;
  /** Never shown to agents: deliveries and the desk only ever carry the alias. */
  customerAddress: string;
  alias: string;
  openedAt: string;
  queueId: string | null;
  queuedAt: string | null;
  priority: number;
  answers: Record<string, string>;
  status: 'intake' | 'queued' | 'assigned' | 'ended';
  offer: { offerId: string; agentId: string; expiresAt: string; at: string } | null;
  offers: { offerId: string; agentId: string; at: string; outcome: string }[];
  agentId: string | null;
  /** Every agent who held the session, so each keeps it in their history. */
  agents: string[];
  assignedAt: string | null;
  firstAssignedAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
  disposition: string | null;
  abandoned: boolean;
  rating: { score: number; comment: string | null; at: string } | null;
  takenOverBy: { supervisor: string; displayName: string; at: string } | null;
  items: TranscriptItem[];
}

export interface AgentRecord {
  agentId: string;
  state: AgentState;
  /** When the shown state (presence, and whether in a conversation) last changed. */
  since: string;
  shown: string;
}

export interface LiveChange {
  aggregate: string;
  id: string;
  type: string;
  at: string;
  session?: SessionRecord;
  data: Record<string, unknown>;
}

type Listener = (change: LiveChange) => void;

const aliasOf = (seed: string) => `Visitor ${createHash('sha256').update(seed).digest('hex').slice(0, 4).toUpperCase()}`;

/**
 * The web channel's read model: every event of PARLEY_EVENTS, followed from the start with an ordered consumer
 * and folded into sessions (with their transcripts, notes, whispers, ratings) and agents. The desk and the
 * dashboard read conversations from here (the server, not the browser), and changes are pushed to their sockets.
 * It lives in memory and is rebuilt at start (a durable projection in reporting is the place for it at scale).
 */
@Injectable()
export class LiveEvents implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('LiveEvents');
  readonly sessions = new Map<string, SessionRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly byCustomer = new Map<string, string[]>();
  readonly entryQueues = new Map<string, string>();
  readonly names = new Map<string, { name?: string; email?: string }>();
  /** The dashboard's KPI history: `parley kpis`'s own code (libs/analytics) over the same events. */
  readonly kpiHistory = new KpiHistory();
  private readonly listeners = new Set<Listener>();
  private position = 0;
  private stop?: () => void;
  private stopWatch?: () => void;
  private kv!: KV;
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.js = jetStreamClientFor(this.nc);
    this.jsm = await jetStreamManagerFor(this.nc);
    // Replicated like every other Parley bucket: on a single replica, losing its NATS node loses the pre-chat answers.
    this.kv = await openKvBucket(this.nc, PRE_CHAT_BUCKET, { history: 1, ttl: 30 * 24 * 3600_000 }, streamDurability(this.config));
    const watch = await untilJetStreamAnswers('watch of the pre-chat bucket', () => this.kv.watch());
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation === 'PUT') this.applyName(entry.key, entry.json<{ name?: string; email?: string }>());
      }
    })().catch((err: unknown) => this.logger.warn({ msg: 'pre-chat watch stopped', err: String(err) }));
    void this.follow();
  }

  private async follow(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const consumer = await this.js.consumers.get(EVENTS_STREAM, { filter_subjects: EVENTS_FILTER, deliver_policy: DeliverPolicy.All });
        const messages = await consumer.consume();
        this.stop = () => messages.stop();
        for await (const m of messages) {
          try {
            this.receive(m.subject, m.seq, m.string(), m.info.timestampNanos / 1e6);
          } catch (err) {
            this.logger.warn({ msg: 'event not understood', subject: m.subject, err: String(err) });
          }
          this.position = m.seq;
        }
        return;
      } catch (err) {
        if (attempt % 20 === 0) this.logger.warn({ msg: 'following the events failed; retrying', err: String(err) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * One stored event of PARLEY_EVENTS, decoded as `parley` decodes it (`decodeEvent`), folded into the sessions and
   * agents and into the KPI history, which is thus fed the very events the CLI reads.
   */
  receive(subject: string, seq: number, payload: string, storedAtMs: number): void {
    const [, , , aggregate, ...rest] = subject.split('.');
    const e = decodeEvent(subject, seq, payload);
    const at = e.metadata?.at ?? new Date(storedAtMs).toISOString();
    e.metadata ??= { at };
    this.apply(aggregate!, rest.join('.'), e.id, e.type, (e.data ?? {}) as Record<string, unknown>, at);
    this.kpiHistory.apply(e);
  }

  /** Waits until every event stored so far is applied: a page asking right after its own action sees it. */
  async caughtUp(timeoutMs = 3000): Promise<void> {
    let last = 0;
    try {
      last = (await this.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    } catch {
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (this.position < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What the pre-chat form said (name, e-mail), kept in JetStream KV so every gateway instance and a restart know it. */
  async remember(sessionId: string, details: { name?: string; email?: string }): Promise<void> {
    this.applyName(sessionId, details);
    await this.kv.put(sessionId, JSON.stringify(details));
  }

  private applyName(sessionId: string, details: { name?: string; email?: string }): void {
    this.names.set(sessionId, details);
    const s = this.sessions.get(sessionId);
    if (s && details.name) s.alias = details.name;
  }

  displayNameOf(agentId: string): string {
    const a = this.agents.get(agentId)?.state;
    return a && a.status !== 'unknown' ? a.profile.displayName : agentId;
  }

  private apply(aggregate: string, id: string, eventId: string, type: string, data: Record<string, unknown>, at: string): void {
    if (aggregate === 'entrypoint') {
      if (type === 'EntryPointRegistered') this.entryQueues.set(id, String(data.queueId));
    } else if (aggregate === 'agent') {
      const rec = this.agents.get(id) ?? { agentId: id, state: agentDecider.initialState(), since: at, shown: 'offline' };
      rec.state = agentDecider.evolve(rec.state, { type, data } as unknown as AgentEvent);
      const shown = this.shownState(rec.state, at);
      if (shown !== rec.shown) {
        rec.shown = shown;
        rec.since = at;
      }
      this.agents.set(id, rec);
    } else if (aggregate === 'session') {
      this.applySession(id, eventId, { type, data } as unknown as SessionEvent, at);
    }
    const change: LiveChange = { aggregate, id, type, at, data, ...(aggregate === 'session' && this.sessions.get(id) ? { session: this.sessions.get(id)! } : {}) };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.logger.warn({ msg: 'listener failed', err: String(err) });
      }
    }
  }

  shownState(state: AgentState, now: string): string {
    const presence = presenceOf(state, now);
    return state.status !== 'unknown' && state.conversations.length > 0 && presence !== 'offline' ? `${presence}+busy` : presence;
  }

  private applySession(id: string, eventId: string, e: SessionEvent, at: string): void {
    if (e.type === 'SessionOpened') {
      const c = e.data;
      const seed = c.customerId ?? c.customerAddress;
      const rec: SessionRecord = {
        sessionId: id,
        channel: c.channel,
        entryPointId: c.entryPointId,
        client: c.client,
        locale: c.locale,
        customerId: c.customerId ?? null,
        customerAddress: c.customerAddress,
        alias: this.names.get(id)?.name ?? aliasOf(seed),
        openedAt: c.openedAt,
        queueId: null,
        queuedAt: null,
        priority: 0,
        answers: {},
        status: 'intake',
        offer: null,
        offers: [],
        agentId: null,
        agents: [],
        assignedAt: null,
        firstAssignedAt: null,
        endedAt: null,
        endedBy: null,
        disposition: null,
        abandoned: false,
        rating: null,
        takenOverBy: null,
        items: [],
      };
      this.sessions.set(id, rec);
      if (rec.customerId) this.byCustomer.set(rec.customerId, [...(this.byCustomer.get(rec.customerId) ?? []), id]);
      return;
    }
    const s = this.sessions.get(id);
    if (!s) return;
    const say = (item: Omit<TranscriptItem, 'id' | 'at'>) => s.items.push({ id: eventId, at, ...item });
    switch (e.type) {
      case 'SessionQueued':
        s.queueId = e.data.queueId;
        s.queuedAt ??= e.data.arrivedAt;
        s.priority = e.data.priority;
        s.status = 'queued';
        s.offer = null;
        return;
      case 'IntakeAnswered':
        s.answers[e.data.attribute] = e.data.answer;
        return;
      case 'CustomerMessageReceived':
        if (s.status === 'intake') return; // an intake answer: shown as the answers, not as a chat line
        say({ kind: 'customer', body: e.data.body });
        return;
      case 'SessionOffered':
        s.offer = { offerId: e.data.offerId, agentId: e.data.agentId, expiresAt: e.data.expiresAt, at: e.data.at };
        s.offers.push({ offerId: e.data.offerId, agentId: e.data.agentId, at: e.data.at, outcome: 'pending' });
        return;
      case 'SessionOfferDeclined': {
        s.offer = null;
        const o = s.offers.find((x) => x.offerId === e.data.offerId);
        if (o) o.outcome = e.data.outcome;
        return;
      }
      case 'SessionAssigned': {
        s.status = 'assigned';
        s.offer = null;
        s.agentId = e.data.agentId;
        if (!s.agents.includes(e.data.agentId)) s.agents.push(e.data.agentId);
        s.assignedAt = e.data.at;
        s.firstAssignedAt ??= e.data.at;
        const o = s.offers.find((x) => x.offerId === e.data.offerId);
        if (o) o.outcome = 'accepted';
        say({ kind: 'system', body: `${this.displayNameOf(e.data.agentId)} joined the chat`, agentId: e.data.agentId, name: this.displayNameOf(e.data.agentId) });
        return;
      }
      case 'AgentMessageSent':
        say({ kind: 'agent', body: e.data.body, agentId: e.data.agentId, name: this.displayNameOf(e.data.agentId) });
        return;
      case 'SessionTransferred':
        s.status = 'queued';
        s.agentId = null;
        s.queueId = e.data.toQueueId;
        say({ kind: 'system', body: `Transferred to ${e.data.toAgentId ? this.displayNameOf(e.data.toAgentId) : `queue ${e.data.toQueueId}`}`, agentId: e.data.fromAgentId });
        return;
      case 'SessionEnded':
        s.status = 'ended';
        s.endedAt = e.data.at;
        s.endedBy = e.data.endedBy;
        s.disposition = e.data.disposition;
        s.abandoned = e.data.abandoned;
        say({ kind: 'system', body: e.data.endedBy === 'customer' ? 'The customer left the chat' : `The conversation has ended${e.data.disposition ? ` (${e.data.disposition})` : ''}` });
        return;
      case 'SessionRated':
        s.rating = { score: e.data.score, comment: e.data.comment, at: e.data.at };
        return;
      case 'SessionNoteAdded':
        say({ kind: 'note', body: e.data.body, agentId: e.data.agentId, name: this.displayNameOf(e.data.agentId) });
        return;
      case 'SupervisorWhispered':
        say({ kind: 'whisper', body: e.data.body, name: e.data.supervisor });
        return;
      case 'SessionTakenOver':
        s.takenOverBy = { supervisor: e.data.supervisor, displayName: e.data.displayName, at: e.data.at };
        say({ kind: 'system', body: `${e.data.displayName} took over the conversation`, name: e.data.displayName });
        return;
      case 'SupervisorMessageSent':
        say({ kind: 'supervisor', body: e.data.body, name: e.data.displayName });
        return;
      default:
        return;
    }
  }

  beforeApplicationShutdown(): void {
    this.stop?.();
    this.stopWatch?.();
  }
}
