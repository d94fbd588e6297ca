import { type AgentEvent, type AgentState, agentDecider, agentLoad } from './agent.decider.js';
import { type SessionEvent, type SessionState, sessionDecider } from './session.decider.js';

/** The slice of a stored event the view needs; kept structural so the domain imports no store. */
export interface ViewEvent {
  aggregate: string;
  aggregateId: string;
  type: string;
  data: unknown;
}

export interface QueueTotals {
  answered: number;
  totalWaitSeconds: number;
  handled: number;
  totalHandleSeconds: number;
  abandoned: number;
  /** Waits of the most recently answered sessions, for the service level. */
  recentWaits?: number[];
  /** Handle times of the most recently finished conversations, for the wait estimate's distribution. */
  recentHandles?: number[];
  /** How the most recent sessions left the queue: `a` answered, `x` abandoned (the estimate's abandonment). */
  recentOutcomes?: string[];
  /** Seconds from offer to the agent's accept of the most recently answered sessions: part of every wait. */
  recentAccepts?: number[];
}

const RECENT_FOR_ESTIMATES = 200;
/** Appends to a bounded list in place (the view is updated in place, see `applyToView`). */
const remember = <T>(list: T[], item: T, max: number): T[] => {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
  return list;
};

const RECENT_WAITS = 500;

/** Share of recently answered sessions that waited at most `thresholdSeconds` (null before any was answered). */
export function serviceLevel(totals: QueueTotals | undefined, thresholdSeconds: number): number | null {
  const waits = totals?.recentWaits ?? [];
  return waits.length === 0 ? null : waits.filter((w) => w <= thresholdSeconds).length / waits.length;
}

/**
 * Live sessions and agents, folded with the aggregates' own `evolve` so the view can never disagree with
 * the deciders about a transition. Ended sessions leave the view; queue totals keep what statistics need.
 */
export interface ContactCenterView {
  sessions: Record<string, Exclude<SessionState, { status: 'none' | 'ended' }>>;
  /** Agents who declined or let expire an offer of a session, with when: re-offers go to someone else first. */
  declines: Record<string, Record<string, string>>;
  agents: Record<string, AgentState>;
  totals: Record<string, QueueTotals>;
  /** The agent each queue offered last: round robin's memory, rebuilt from the events like the rest. */
  lastOffered: Record<string, string>;
  /** Index of queued sessions by queue, so a routing pass reads only the queues it can serve. */
  queued: Record<string, Record<string, true>>;
  /** Queued sessions transferred to a named agent: session → agent. */
  targeted: Record<string, string>;
  /** The queue of each registered entry point, so an idle queue is known too. */
  entryQueues?: Record<string, string>;
  /** Bumped when a session joins a queue or its place there changes: the routing order must be worked out again. */
  queueVersions?: Record<string, number>;
  /** Agents by the queues they serve, and those who serve every queue: who could take a new session. */
  servers?: Record<string, Record<string, true>>;
  anyQueue?: Record<string, true>;
  /** When each session's pending offer was made (the session state keeps no instant), for `recentAccepts`. */
  offeredAt?: Record<string, string>;
}

export const emptyView = (): ContactCenterView => ({ sessions: {}, declines: {}, agents: {}, totals: {}, lastOffered: {}, queued: {}, targeted: {} });

const totalsOf = (view: ContactCenterView, queueId: string): QueueTotals => (view.totals[queueId] ??= { answered: 0, totalWaitSeconds: 0, handled: 0, totalHandleSeconds: 0, abandoned: 0 });

const seconds = (from: string, to: string) => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/**
 * Applies one event to the view in place and returns it: the projection runner owns its state, and copying
 * maps of tens of thousands of sessions per event would make rebuilding quadratic.
 */
export function applyToView(view: ContactCenterView, event: ViewEvent): ContactCenterView {
  view.lastOffered ??= {};
  if (event.aggregate === 'entrypoint') {
    if (event.type === 'EntryPointRegistered') (view.entryQueues ??= {})[event.aggregateId] = (event.data as { queueId: string }).queueId;
    return view;
  }
  if (event.aggregate === 'agent') {
    const before = view.agents[event.aggregateId] ?? agentDecider.initialState();
    const after = agentDecider.evolve(before, event as unknown as AgentEvent);
    view.agents[event.aggregateId] = after;
    if (event.type === 'AgentLoggedIn') indexServer(view, event.aggregateId, before, after);
    return view;
  }
  if (event.aggregate !== 'session') return view;
  const e = event as unknown as SessionEvent;
  const id = event.aggregateId;
  const before: SessionState = view.sessions[id] ?? sessionDecider.initialState();
  const after = sessionDecider.evolve(before, e);
  if (after.status === 'none' || after.status === 'ended') delete view.sessions[id];
  else view.sessions[id] = after;
  view.queued ??= {};
  if (before.status === 'queued' && (after.status !== 'queued' || after.place.queueId !== before.place.queueId)) {
    const q = view.queued[before.place.queueId];
    if (q) {
      delete q[id];
      if (Object.keys(q).length === 0) delete view.queued[before.place.queueId];
    }
  }
  if (after.status === 'queued' && after.place.queueId) {
    (view.queued[after.place.queueId] ??= {})[id] = true;
    // Leaving a queue needs no new order (readers skip who left); joining it, or a new place in it, does.
    if (before.status !== 'queued' || before.place !== after.place) (view.queueVersions ??= {})[after.place.queueId] = (view.queueVersions?.[after.place.queueId] ?? 0) + 1;
  }
  view.targeted ??= {};
  if (after.status === 'queued' && after.place.targetAgentId) view.targeted[id] = after.place.targetAgentId;
  else delete view.targeted[id];
  if (e.type === 'SessionOfferDeclined') view.declines[id] = { ...view.declines[id], [e.data.agentId]: e.data.at };
  // An agent who hands a session on is not offered it straight back.
  if (e.type === 'SessionTransferred') view.declines[id] = { ...view.declines[id], [e.data.fromAgentId]: e.data.at };
  if (e.type === 'SessionOffered' && before.status === 'queued') {
    view.lastOffered[before.place.queueId] = e.data.agentId;
    (view.offeredAt ??= {})[id] = e.data.at;
  }
  if (e.type === 'SessionAssigned' && before.status === 'queued') {
    const t = totalsOf(view, before.place.queueId);
    t.answered += 1;
    const wait = seconds(before.place.arrivedAt, e.data.at);
    t.totalWaitSeconds += wait;
    t.recentWaits = remember(t.recentWaits ?? [], wait, RECENT_WAITS);
    t.recentOutcomes = remember(t.recentOutcomes ?? [], 'a', RECENT_FOR_ESTIMATES);
    const offeredAt = view.offeredAt?.[id];
    if (offeredAt) t.recentAccepts = remember(t.recentAccepts ?? [], seconds(offeredAt, e.data.at), RECENT_FOR_ESTIMATES);
  }
  if (view.offeredAt && e.type !== 'SessionOffered' && after.status !== 'queued') delete view.offeredAt[id];
  if (e.type === 'SessionEnded' && (before.status === 'queued' || before.status === 'assigned')) {
    const t = totalsOf(view, before.place.queueId);
    if (before.status === 'assigned') {
      t.handled += 1;
      const handle = seconds(before.assignedAt, e.data.at);
      t.totalHandleSeconds += handle;
      t.recentHandles = remember(t.recentHandles ?? [], handle, RECENT_FOR_ESTIMATES);
    } else {
      t.abandoned += 1;
      t.recentOutcomes = remember(t.recentOutcomes ?? [], 'x', RECENT_FOR_ESTIMATES);
    }
  }
  if (after.status === 'ended' || e.type === 'SessionAssigned') delete view.declines[id];
  return view;
}

const queuesOf = (agent: AgentState): readonly string[] | null | undefined => (agent.status === 'unknown' ? undefined : agent.profile.queues);

/** Keeps `servers` / `anyQueue` in step with an agent's profile (which only a login changes). */
function indexServer(view: ContactCenterView, agentId: string, before: AgentState, after: AgentState): void {
  const servers = (view.servers ??= {});
  const anyQueue = (view.anyQueue ??= {});
  const old = queuesOf(before);
  if (old === null) delete anyQueue[agentId];
  else for (const q of old ?? []) if (servers[q]) delete servers[q][agentId];
  const now = queuesOf(after);
  if (now === null) anyQueue[agentId] = true;
  else for (const q of now ?? []) (servers[q] ??= {})[agentId] = true;
}

/**
 * Conversations an agent's stream still holds whose session is not theirs any more: ended, transferred or queued
 * again. Normally the session's own follow-up ends each one within milliseconds. Under faults a start can land
 * after the end it should precede: a start delayed by a cluster electing leaders, and the end already handled
 * and found nothing to end. The stray conversation then holds one of the agent's slots for good. Seen in a
 * rehearsal: an agent full with one live and one ended conversation, and a customer left waiting. The view
 * folds the one event log in order, so an agent's conversation always comes after its session's assignment.
 */
export function strayConversations(view: ContactCenterView): { agentId: string; sessionId: string }[] {
  const stray: { agentId: string; sessionId: string }[] = [];
  for (const [agentId, agent] of Object.entries(view.agents)) {
    if (agent.status === 'unknown') continue;
    for (const sessionId of agent.conversations) {
      const session = view.sessions[sessionId];
      if (session?.status === 'assigned' && session.agentId === agentId) continue;
      stray.push({ agentId, sessionId });
    }
  }
  return stray;
}

export type WaitingSession = Extract<SessionState, { status: 'queued' }>;

/** Priority first (higher first), then original arrival, then ID for a total order. */
export function compareWaiting(a: WaitingSession, b: WaitingSession): number {
  return (
    b.place.priority - a.place.priority || Date.parse(a.place.arrivedAt) - Date.parse(b.place.arrivedAt) || (a.core.sessionId < b.core.sessionId ? -1 : a.core.sessionId > b.core.sessionId ? 1 : 0)
  );
}

export function waitingByQueue(view: ContactCenterView): Map<string, WaitingSession[]> {
  const queues = new Map<string, WaitingSession[]>();
  for (const queueId of Object.keys(view.queued ?? {})) queues.set(queueId, waitingIn(view, queueId));
  return queues;
}

/** Each queue's routing order, worked out again only when someone joined it (see `queueVersions`). */
const orders = new WeakMap<ContactCenterView, Map<string, { version: number; ids: string[] }>>();

/** The IDs of a queue in routing order, possibly with some who have left since: check each one. */
function orderOf(view: ContactCenterView, queueId: string): string[] {
  let byQueue = orders.get(view);
  if (!byQueue) orders.set(view, (byQueue = new Map()));
  const version = view.queueVersions?.[queueId] ?? 0;
  const cached = byQueue.get(queueId);
  if (cached && cached.version === version && view.queueVersions) return cached.ids;
  const keyed: { id: string; priority: number; arrived: number }[] = [];
  for (const id of Object.keys(view.queued?.[queueId] ?? {})) {
    const s = view.sessions[id];
    if (s?.status === 'queued') keyed.push({ id, priority: s.place.priority, arrived: Date.parse(s.place.arrivedAt) });
  }
  keyed.sort((a, b) => b.priority - a.priority || a.arrived - b.arrived || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = keyed.map((k) => k.id);
  byQueue.set(queueId, { version, ids });
  return ids;
}

/** The sessions queued in one queue, in routing order, one at a time (a reader that stops early pays for no more). */
export function* waitingOrder(view: ContactCenterView, queueId: string): Generator<WaitingSession> {
  for (const id of orderOf(view, queueId)) {
    const s = view.sessions[id];
    if (s?.status === 'queued' && s.place.queueId === queueId) yield s;
  }
}

/** The sessions queued in one queue, in routing order. */
export function waitingIn(view: ContactCenterView, queueId: string): WaitingSession[] {
  return [...waitingOrder(view, queueId)];
}

export const servesQueue = (agent: AgentState, queueId: string) => agent.status !== 'unknown' && (agent.profile.queues === null || agent.profile.queues.includes(queueId));

export interface QueueSnapshot {
  queueId: string;
  waiting: WaitingSession[];
  longestWaitSeconds: number;
  agentsAvailable: number;
  agentsBusy: number;
  /** Concurrent conversations the logged-in agents of this queue can hold. */
  staffedCapacity: number;
  averageHandleSeconds: number | null;
}

export function queueSnapshot(view: ContactCenterView, queueId: string, now: string, waiting = waitingIn(view, queueId)): QueueSnapshot {
  let agentsAvailable = 0;
  let agentsBusy = 0;
  let staffedCapacity = 0;
  for (const agent of Object.values(view.agents)) {
    if ((agent.status !== 'available' && agent.status !== 'away') || !servesQueue(agent, queueId)) continue;
    const load = agentLoad(agent);
    if (load > 0) agentsBusy++;
    if (agent.status === 'available') {
      staffedCapacity += agent.profile.capacity;
      if (load < agent.profile.capacity) agentsAvailable++;
    }
  }
  const t = view.totals[queueId] ?? { handled: 0, totalHandleSeconds: 0 };
  return {
    queueId,
    waiting,
    longestWaitSeconds: Math.floor(waiting.reduce((m, s) => Math.max(m, seconds(s.place.arrivedAt, now)), 0)),
    agentsAvailable,
    agentsBusy,
    staffedCapacity,
    averageHandleSeconds: t.handled > 0 ? t.totalHandleSeconds / t.handled : null,
  };
}

/**
 * Estimated wait for the customer at `position` (0 = next): the conversations ahead of them, and their own
 * turn, shared over the staffed capacity, each taking the average handle time seen so far in this queue.
 */
export function estimateWaitSeconds(snapshot: QueueSnapshot, position: number, defaultHandleSeconds: number): number {
  const handle = snapshot.averageHandleSeconds ?? defaultHandleSeconds;
  const capacity = Math.max(1, snapshot.staffedCapacity);
  return Math.ceil(((position + 1) * handle) / capacity);
}

/** The view as a named, versioned projection (structurally a `Projection` of the event-store lib). */
export const contactCenterProjection = (name: string) => ({
  name,
  // 3: assigned sessions carry who took them over (takenOverBy), so a view resumed from a version-2 checkpoint
  // would differ from one rebuilt.
  version: 3,
  initial: emptyView,
  apply: applyToView,
});
