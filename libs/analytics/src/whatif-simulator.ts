import { type AgentProfile, type ContactCenterView, type QueueRouting, type Requirements, applyToView, emptyView, planOffers, waitingIn } from '@parley/domain';
import type { AnalyticsEvent } from './analytics-event.js';
import type { ToldEstimate } from './estimate-score.js';
import { TableBuilder } from './table-builder.js';
import type { Row } from './table-schemas.js';

/** A recorded (or synthetic) customer: when they reached the queue, what they needed, and what followed. */
export interface SimArrival {
  sessionId: string;
  entryPointId: string;
  openedAtMs: number;
  arrivedAtMs: number;
  queueId: string;
  priority: number;
  requirements?: Requirements;
  /** The conversation's length once answered; null: never answered in the record (a stand-in is used). */
  handleSeconds: number | null;
  /** The wait after which they gave up; null: they waited until answered. */
  patienceSeconds: number | null;
  /** From an offer to the agent's accept. */
  acceptDelaySeconds: number;
}

/** An agent of the roster and when they are available (logged in and not away). */
export interface SimAgent {
  agentId: string;
  profile: AgentProfile;
  shifts: { fromMs: number; toMs: number | null }[];
}

export interface EstimatorContext {
  view: ContactCenterView;
  queueId: string;
  position: number;
  now: string;
  recentHandleSeconds: readonly number[];
  recentAbandoned: number;
  recentAnswered: number;
}

export type SimEstimator = (ctx: EstimatorContext) => { seconds: number; lowSeconds?: number | null; highSeconds?: number | null };

export interface SimOptions {
  routingOf?: (queueId: string) => QueueRouting | undefined;
  /** Estimators to score: each waiting customer is told one at arrival and every `statusEverySeconds`. */
  estimators?: Record<string, SimEstimator>;
  statusEverySeconds?: number;
  /** How many recent handle times / outcomes the estimators see, per queue. */
  recentWindow?: number;
  /** Sees every simulated event, in the stored shape (a simulated run can be exported or replayed like a recorded one). */
  onEvent?: (e: AnalyticsEvent) => void;
}

export interface SimResult {
  sessions: Row[];
  agentStates: Row[];
  estimates: Record<string, ToldEstimate[]>;
  /** Simulated events (for tests and debugging); the same shapes the services store. */
  events: number;
}

type Timed =
  | { kind: 'agent-on'; agent: SimAgent }
  | { kind: 'agent-off'; agent: SimAgent }
  | { kind: 'arrive'; arrival: SimArrival }
  | { kind: 'assign'; arrival: SimArrival; offerId: string; agentId: string }
  | { kind: 'end'; arrival: SimArrival; agentId: string }
  | { kind: 'abandon'; arrival: SimArrival }
  | { kind: 'replan' }
  | { kind: 'status'; queueId: string };

interface Entry {
  t: number;
  seq: number;
  item: Timed;
}

/** A binary min-heap on (time, insertion order): simultaneous events keep their order. */
class Agenda {
  private readonly heap: Entry[] = [];
  private seq = 0;
  get size() {
    return this.heap.length;
  }
  push(t: number, item: Timed) {
    const h = this.heap;
    h.push({ t, seq: this.seq++, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  peek(): Entry | undefined {
    return this.heap[0];
  }
  pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
const less = (a: Entry, b: Entry) => a.t < b.t || (a.t === b.t && a.seq < b.seq);

const iso = (ms: number) => new Date(ms).toISOString();
const FAR_SECONDS = 10 * 365 * 24 * 3600;

/**
 * Replays arrivals through the router's own pure policy (`planOffers` over the view folded by `applyToView`) in
 * simulated time. Every transition is an event of the stored shapes, folded into the view and into the same
 * table builder the export uses, so the figures of a replay are computed exactly like the recorded ones.
 */
export function simulate(arrivals: readonly SimArrival[], roster: readonly SimAgent[], options: SimOptions = {}): SimResult {
  const view = emptyView();
  const sessions: Row[] = [];
  const agentStates: Row[] = [];
  const tables = new TableBuilder({ sessions: (r) => sessions.push(r), agentStates: (r) => agentStates.push(r) });
  const agenda = new Agenda();
  let position = 0;
  let offers = 0;
  const window = options.recentWindow ?? 200;
  const recentHandles = new Map<string, number[]>();
  const recentOutcomes = new Map<string, boolean[]>(); // true: abandoned
  const pending = new Map<string, { offerId: string; agentId: string }>();
  const told = new Map<string, { sessionId: string; atMs: number; est: Record<string, ReturnType<SimEstimator>> }[]>();
  const statusTicking = new Set<string>();
  const estimators = Object.entries(options.estimators ?? {});
  const statusEvery = (options.statusEverySeconds ?? 30) * 1000;

  const emit = (aggregate: 'session' | 'agent', aggregateId: string, type: string, data: unknown, atMs: number) => {
    const e: AnalyticsEvent = { position: ++position, aggregate, aggregateId, id: `sim-${position}`, type, schemaVersion: 1, data, metadata: { at: iso(atMs), actor: 'whatif' } };
    applyToView(view, e);
    tables.apply(e);
    options.onEvent?.(e);
  };
  const pushRecent = <T>(map: Map<string, T[]>, key: string, v: T) => {
    const list = map.get(key) ?? [];
    list.push(v);
    if (list.length > window) list.shift();
    map.set(key, list);
  };

  for (const agent of roster) {
    for (const s of agent.shifts) {
      agenda.push(s.fromMs, { kind: 'agent-on', agent });
      if (s.toMs !== null) agenda.push(s.toMs, { kind: 'agent-off', agent });
    }
  }
  for (const a of arrivals) {
    agenda.push(a.arrivedAtMs, { kind: 'arrive', arrival: a });
    const routing = options.routingOf?.(a.queueId);
    for (const step of routing?.steps ?? []) if (step.afterSeconds > 0) agenda.push(a.arrivedAtMs + step.afterSeconds * 1000, { kind: 'replan' });
    if (a.patienceSeconds !== null) agenda.push(a.arrivedAtMs + a.patienceSeconds * 1000, { kind: 'abandon', arrival: a });
  }

  const tell = (queueId: string, nowMs: number) => {
    if (estimators.length === 0) return;
    const now = iso(nowMs);
    const waiting = waitingIn(view, queueId).filter((s) => !s.offer);
    const outcomes = recentOutcomes.get(queueId) ?? [];
    const abandoned = outcomes.filter(Boolean).length;
    waiting.forEach((s, index) => {
      const ctx: EstimatorContext = {
        view,
        queueId,
        position: index,
        now,
        recentHandleSeconds: recentHandles.get(queueId) ?? [],
        recentAbandoned: abandoned,
        recentAnswered: outcomes.length - abandoned,
      };
      const est: Record<string, ReturnType<SimEstimator>> = {};
      for (const [name, f] of estimators) est[name] = f(ctx);
      const list = told.get(s.core.sessionId) ?? [];
      list.push({ sessionId: s.core.sessionId, atMs: nowMs, est });
      told.set(s.core.sessionId, list);
    });
    if (waiting.length > 0 && !statusTicking.has(queueId)) {
      statusTicking.add(queueId);
      agenda.push(nowMs + statusEvery, { kind: 'status', queueId });
    }
  };

  const assignedAt = new Map<string, number>();
  const abandonedAt = new Set<string>();

  while (agenda.size > 0) {
    const t = agenda.peek()!.t;
    const touched = new Set<string>();
    // Everything due at this instant first, then one routing pass, as the router does on a change.
    while (agenda.size > 0 && agenda.peek()!.t === t) {
      const { item } = agenda.pop()!;
      switch (item.kind) {
        case 'agent-on': {
          const state = view.agents[item.agent.agentId];
          if (state && (state.status === 'available' || state.status === 'away')) {
            if (state.status === 'away') emit('agent', item.agent.agentId, 'AgentStateChanged', { state: 'available', reason: null, at: iso(t) }, t);
          } else {
            emit('agent', item.agent.agentId, 'AgentLoggedIn', { profile: item.agent.profile, leaseSeconds: FAR_SECONDS, expiresAt: iso(t + FAR_SECONDS * 1000), at: iso(t) }, t);
          }
          break;
        }
        case 'agent-off':
          emit('agent', item.agent.agentId, 'AgentLoggedOut', { reason: 'requested', at: iso(t) }, t);
          break;
        case 'arrive': {
          const a = item.arrival;
          emit(
            'session',
            a.sessionId,
            'SessionOpened',
            { sessionId: a.sessionId, entryPointId: a.entryPointId, channel: 'whatif', customerAddress: '', sessionAddress: '', client: null, locale: null, openedAt: iso(a.openedAtMs) },
            t,
          );
          emit('session', a.sessionId, 'SessionQueued', { queueId: a.queueId, priority: a.priority, arrivedAt: iso(a.arrivedAtMs), requirements: a.requirements, notBefore: null }, t);
          touched.add(a.queueId);
          break;
        }
        case 'assign': {
          const a = item.arrival;
          const p = pending.get(a.sessionId);
          if (!p || p.offerId !== item.offerId) break;
          pending.delete(a.sessionId);
          emit('session', a.sessionId, 'SessionAssigned', { offerId: item.offerId, agentId: item.agentId, at: iso(t) }, t);
          emit('agent', item.agentId, 'AgentConversationStarted', { sessionId: a.sessionId, offerId: item.offerId }, t);
          assignedAt.set(a.sessionId, t);
          pushRecent(recentOutcomes, a.queueId, false);
          agenda.push(t + (a.handleSeconds ?? 0) * 1000, { kind: 'end', arrival: a, agentId: item.agentId });
          touched.add(a.queueId);
          break;
        }
        case 'end': {
          const a = item.arrival;
          emit('session', a.sessionId, 'SessionEnded', { endedBy: 'agent', reason: 'done', disposition: null, abandoned: false, agentId: item.agentId, at: iso(t) }, t);
          const wrap = view.agents[item.agentId]?.status !== 'unknown' ? ((view.agents[item.agentId] as { profile?: AgentProfile }).profile?.wrapUpSeconds ?? 0) : 0;
          emit('agent', item.agentId, 'AgentConversationEnded', { sessionId: a.sessionId, at: iso(t), wrapUpUntil: wrap ? iso(t + wrap * 1000) : null }, t);
          if (wrap) agenda.push(t + wrap * 1000, { kind: 'replan' });
          pushRecent(recentHandles, a.queueId, a.handleSeconds ?? 0);
          touched.add(a.queueId);
          break;
        }
        case 'abandon': {
          const a = item.arrival;
          if (assignedAt.has(a.sessionId) || !view.sessions[a.sessionId]) break;
          const p = pending.get(a.sessionId);
          if (p) {
            pending.delete(a.sessionId);
            emit('session', a.sessionId, 'SessionOfferDeclined', { offerId: p.offerId, agentId: p.agentId, outcome: 'revoked', reason: 'customer left', at: iso(t) }, t);
            emit('agent', p.agentId, 'AgentOfferReleased', { offerId: p.offerId, outcome: 'revoked' }, t);
          }
          emit('session', a.sessionId, 'SessionEnded', { endedBy: 'customer', reason: 'left', disposition: null, abandoned: true, agentId: null, at: iso(t) }, t);
          abandonedAt.add(a.sessionId);
          pushRecent(recentOutcomes, a.queueId, true);
          touched.add(a.queueId);
          break;
        }
        case 'replan':
          break;
        case 'status':
          statusTicking.delete(item.queueId);
          touched.add(item.queueId);
          break;
      }
    }
    const now = iso(t);
    for (const o of planOffers(view, { now, declineCooldownSeconds: 60, routingOf: options.routingOf })) {
      const arrival = arrivalsById(arrivals).get(o.sessionId)!;
      const offerId = `sim-offer-${++offers}`;
      const expiresAt = iso(t + FAR_SECONDS * 1000);
      emit('agent', o.agentId, 'AgentOfferReserved', { offerId, sessionId: o.sessionId, expiresAt }, t);
      emit('session', o.sessionId, 'SessionOffered', { offerId, agentId: o.agentId, expiresAt, at: now, decision: o.decision }, t);
      pending.set(o.sessionId, { offerId, agentId: o.agentId });
      agenda.push(t + arrival.acceptDelaySeconds * 1000, { kind: 'assign', arrival, offerId, agentId: o.agentId });
      touched.add(o.queueId);
    }
    for (const q of touched) tell(q, t);
  }
  tables.finish();

  const estimates: Record<string, ToldEstimate[]> = {};
  for (const [name] of estimators) estimates[name] = [];
  for (const list of told.values()) {
    for (const entry of list) {
      const answered = assignedAt.get(entry.sessionId);
      for (const [name] of estimators) {
        const e = entry.est[name]!;
        estimates[name]!.push({
          estimatedSeconds: e.seconds,
          lowSeconds: e.lowSeconds ?? null,
          highSeconds: e.highSeconds ?? null,
          actualSeconds: answered === undefined ? null : Math.max(0, (answered - entry.atMs) / 1000),
        });
      }
    }
  }
  return { sessions, agentStates, estimates, events: position };
}

const byIdCache = new WeakMap<readonly SimArrival[], Map<string, SimArrival>>();
function arrivalsById(arrivals: readonly SimArrival[]): Map<string, SimArrival> {
  let m = byIdCache.get(arrivals);
  if (!m) byIdCache.set(arrivals, (m = new Map(arrivals.map((a) => [a.sessionId, a]))));
  return m;
}
