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
}

export const emptyView = (): ContactCenterView => ({ sessions: {}, declines: {}, agents: {}, totals: {} });

const totalsOf = (view: ContactCenterView, queueId: string): QueueTotals =>
  view.totals[queueId] ?? { answered: 0, totalWaitSeconds: 0, handled: 0, totalHandleSeconds: 0, abandoned: 0 };

const seconds = (from: string, to: string) => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/** Pure and copy-on-write at the top level; callers may keep old views. */
export function applyToView(view: ContactCenterView, event: ViewEvent): ContactCenterView {
  if (event.aggregate === 'agent') {
    const before = view.agents[event.aggregateId] ?? agentDecider.initialState();
    return { ...view, agents: { ...view.agents, [event.aggregateId]: agentDecider.evolve(before, event as unknown as AgentEvent) } };
  }
  if (event.aggregate !== 'session') return view;
  const e = event as unknown as SessionEvent;
  const id = event.aggregateId;
  const before: SessionState = view.sessions[id] ?? sessionDecider.initialState();
  const after = sessionDecider.evolve(before, e);
  const sessions = { ...view.sessions };
  let { declines, totals } = view;
  if (after.status === 'none' || after.status === 'ended') delete sessions[id];
  else sessions[id] = after;
  if (e.type === 'SessionOfferDeclined') {
    declines = { ...declines, [id]: { ...declines[id], [e.data.agentId]: e.data.at } };
  }
  if (e.type === 'SessionAssigned' && before.status === 'queued') {
    const t = totalsOf(view, before.place.queueId);
    totals = { ...totals, [before.place.queueId]: { ...t, answered: t.answered + 1, totalWaitSeconds: t.totalWaitSeconds + seconds(before.place.arrivedAt, e.data.at) } };
  }
  if (e.type === 'SessionEnded' && (before.status === 'queued' || before.status === 'assigned')) {
    const t = totalsOf(view, before.place.queueId);
    totals = {
      ...totals,
      [before.place.queueId]:
        before.status === 'assigned'
          ? { ...t, handled: t.handled + 1, totalHandleSeconds: t.totalHandleSeconds + seconds(before.assignedAt, e.data.at) }
          : { ...t, abandoned: t.abandoned + 1 },
    };
  }
  if (after.status === 'ended' || after.status === 'assigned') {
    if (declines[id]) {
      declines = { ...declines };
      delete declines[id];
    }
  }
  return { ...view, sessions, declines, totals };
}

export type WaitingSession = Extract<SessionState, { status: 'queued' }>;

/** Priority first (higher first), then original arrival, then ID for a total order. */
export function compareWaiting(a: WaitingSession, b: WaitingSession): number {
  return (
    b.place.priority - a.place.priority ||
    Date.parse(a.place.arrivedAt) - Date.parse(b.place.arrivedAt) ||
    (a.core.sessionId < b.core.sessionId ? -1 : a.core.sessionId > b.core.sessionId ? 1 : 0)
  );
}

export function waitingByQueue(view: ContactCenterView): Map<string, WaitingSession[]> {
  const queues = new Map<string, WaitingSession[]>();
  for (const s of Object.values(view.sessions)) {
    if (s.status !== 'queued') continue;
    const list = queues.get(s.place.queueId) ?? [];
    list.push(s);
    queues.set(s.place.queueId, list);
  }
  for (const list of queues.values()) list.sort(compareWaiting);
  return queues;
}

export const servesQueue = (agent: AgentState, queueId: string) =>
  agent.status !== 'unknown' && (agent.profile.queues === null || agent.profile.queues.includes(queueId));

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

export function queueSnapshot(view: ContactCenterView, queueId: string, now: string, waiting = waitingByQueue(view).get(queueId) ?? []): QueueSnapshot {
  let agentsAvailable = 0;
  let agentsBusy = 0;
  let staffedCapacity = 0;
  for (const agent of Object.values(view.agents)) {
    if ((agent.status !== 'available' && agent.status !== 'away') || !servesQueue(agent, queueId)) continue;
    const load = agentLoad(agent, now);
    if (load > 0) agentsBusy++;
    if (agent.status === 'available') {
      staffedCapacity += agent.profile.capacity;
      if (load < agent.profile.capacity) agentsAvailable++;
    }
  }
  const t = totalsOf(view, queueId);
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
  version: 1,
  initial: emptyView,
  apply: applyToView,
});
