import { type AgentProfile, type AgentState, agentLoad } from './agent.decider.js';
import { type ContactCenterView, type WaitingSession, waitingOrder } from './contact-center.view.js';
import type { RoutingDecisionRecord } from './session.decider.js';

export const STRATEGIES = ['longest-idle', 'least-occupied', 'round-robin', 'best-skill'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/**
 * One step of a queue's rules. The step in force for a session is the last whose `afterSeconds` its wait has
 * reached, so later steps widen (or, for bot-first, switch) the pool as the wait grows.
 */
export interface RuleStep {
  afterSeconds: number;
  /** Replaces the level of every required skill (e.g. 4 at first, 2 later). */
  minProficiency?: number;
  /** Any agent of the queue with the language, whatever the skills. */
  ignoreSkills?: boolean;
  /** Only bots, or only people. */
  agentKind?: 'bot' | 'human';
  /** Agents of these queues become eligible too. */
  overflowTo?: readonly string[];
}

export interface QueueRouting {
  strategy: Strategy;
  steps: readonly RuleStep[];
}

export const DEFAULT_QUEUE_ROUTING: QueueRouting = { strategy: 'longest-idle', steps: [{ afterSeconds: 0 }] };

export interface PlannedOffer {
  sessionId: string;
  agentId: string;
  queueId: string;
  decision: RoutingDecisionRecord;
}

export interface RoutingOptions {
  now: string;
  /** An agent who declined a session is not offered it again for this long. */
  declineCooldownSeconds: number;
  /** The rules of a queue; the default (longest idle, requirements as they are) when absent. */
  routingOf?: (queueId: string) => QueueRouting | undefined;
  /** Plan only these queues (a router instance owns a share of the queues). */
  onlyQueues?: ReadonlySet<string>;
  /**
   * Route incrementally: only what changed since a full pass (agents whose state changed, sessions that arrived
   * or came back) can make a new match, so only they are looked at — a freed agent at the queues it serves, a new
   * session at the agents who could take it. The offers are the same as a full pass would make, as long as time
   * alone changed nothing (rule steps widening, wrap-ups and cool-downs ending): a periodic full pass covers that.
   */
  touched?: { agents: Iterable<string>; sessions: Iterable<string> };
}

type Available = Extract<AgentState, { status: 'available' }>;
interface Candidate {
  agentId: string;
  agent: Available;
}

const sameLanguage = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || a.split('-')[0]!.toLowerCase() === b.split('-')[0]!.toLowerCase();

/** Whether an agent meets a session's requirements under a rule step (no step: the requirements as they are). */
export function meetsRequirements(profile: AgentProfile, session: WaitingSession, step: RuleStep = { afterSeconds: 0 }): boolean {
  if (step.agentKind && profile.kind !== step.agentKind) return false;
  const r = session.place.requirements;
  if (!r) return true;
  if (!step.ignoreSkills) {
    for (const [skill, level] of Object.entries(r.skills)) if ((profile.skills[skill] ?? 0) < (step.minProficiency ?? level)) return false;
  }
  if (r.language && !profile.languages.some((l) => sameLanguage(l, r.language!))) return false;
  return r.capabilities.every((c) => profile.capabilities.includes(c));
}

export function stepFor(routing: QueueRouting, waitSeconds: number): { index: number; step: RuleStep } {
  let index = 0;
  routing.steps.forEach((s, i) => {
    if (s.afterSeconds <= waitSeconds && s.afterSeconds >= routing.steps[index]!.afterSeconds) index = i;
  });
  return { index, step: routing.steps[index] ?? { afterSeconds: 0 } };
}

export function describeStep(index: number, step: RuleStep, session: WaitingSession): string {
  const r = session.place.requirements;
  const parts = [`step ${index + 1} (after ${step.afterSeconds} s)`];
  if (session.place.targetAgentId) parts.push(`transferred to ${session.place.targetAgentId}`);
  if (step.agentKind) parts.push(`${step.agentKind}s only`);
  const skills = Object.entries(r?.skills ?? {});
  if (step.ignoreSkills) parts.push('any skills');
  else if (skills.length > 0) parts.push(`skills ${skills.map(([s, l]) => `${s}≥${step.minProficiency ?? l}`).join(', ')}`);
  if (r?.language) parts.push(`language ${r.language}`);
  if (r?.capabilities.length) parts.push(`capabilities ${r.capabilities.join(', ')}`);
  if (step.overflowTo?.length) parts.push(`overflow to ${step.overflowTo.join(', ')}`);
  return parts.join('; ');
}

const byIdle = (a: Candidate, b: Candidate) => Date.parse(a.agent.idleSince) - Date.parse(b.agent.idleSince) || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

/** Chooses among eligible agents by the queue's strategy, and says how. */
function choose(strategy: Strategy, eligible: Candidate[], session: WaitingSession, load: (c: Candidate) => number, last: string | undefined): { pick: Candidate; tieBreak: string } {
  switch (strategy) {
    case 'longest-idle': {
      const pick = [...eligible].sort(byIdle)[0]!;
      return { pick, tieBreak: `longest idle: idle since ${pick.agent.idleSince}` };
    }
    case 'least-occupied': {
      const ratio = (c: Candidate) => load(c) / c.agent.profile.capacity;
      const pick = [...eligible].sort((a, b) => ratio(a) - ratio(b) || byIdle(a, b))[0]!;
      return { pick, tieBreak: `least occupied: ${load(pick)} of ${pick.agent.profile.capacity} in use, then longest idle` };
    }
    case 'round-robin': {
      const ordered = [...eligible].sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
      const pick = ordered.find((c) => last === undefined || c.agentId > last) ?? ordered[0]!;
      return { pick, tieBreak: `round robin: next after ${last ?? 'the start'}` };
    }
    case 'best-skill': {
      const required = Object.keys(session.place.requirements?.skills ?? {});
      const score = (c: Candidate) => required.reduce((sum, s) => sum + (c.agent.profile.skills[s] ?? 0), 0);
      const pick = [...eligible].sort((a, b) => score(b) - score(a) || byIdle(a, b))[0]!;
      return { pick, tieBreak: `best skill: score ${score(pick)} on ${required.join(', ') || 'no required skills'}, then longest idle` };
    }
    default: {
      const never: never = strategy;
      throw new Error(`unknown strategy ${String(never)}`);
    }
  }
}

const MAX_RECORDED_ELIGIBLE = 20;

/**
 * The offers to make now. Pure: the same view, time and rules give the same offers. Within each queue,
 * sessions go in order (priority, then original arrival); each goes to the agent the queue's strategy picks
 * among those the rule step in force allows, who are available, out of wrap-up and below capacity.
 */
export function planOffers(view: ContactCenterView, options: RoutingOptions): PlannedOffer[] {
  const now = Date.parse(options.now);
  const planned: PlannedOffer[] = [];
  const extraLoad = new Map<string, number>();
  const lastOffered = { ...view.lastOffered };

  // Index the agents who can take work at all, once per pass: by queue, plus those who serve every queue.
  const byQueue = new Map<string, Candidate[]>();
  const everyQueue: Candidate[] = [];
  const byId = new Map<string, Candidate>();
  const candidates = options.touched && view.servers ? candidatesFor(view, options.touched, options.routingOf) : undefined;
  const touchedQueues = candidates?.queues;
  for (const agentId of candidates?.agents ?? Object.keys(view.agents)) {
    const agent = view.agents[agentId];
    if (!agent || agent.status !== 'available' || (agent.wrapUpUntil && Date.parse(agent.wrapUpUntil) > now)) continue;
    if (agentLoad(agent) >= agent.profile.capacity) continue;
    const c = { agentId, agent };
    byId.set(agentId, c);
    if (agent.profile.queues === null) everyQueue.push(c);
    else for (const q of agent.profile.queues) (byQueue.get(q) ?? byQueue.set(q, []).get(q)!).push(c);
  }
  if (byId.size === 0) return planned;
  const load = (c: Candidate) => agentLoad(c.agent) + (extraLoad.get(c.agentId) ?? 0);
  const free = (c: Candidate) => load(c) < c.agent.profile.capacity;
  const candidatesFree = () => {
    for (const c of byId.values()) if (free(c)) return true;
    return false;
  };

  // Only queues some free agent could serve are grouped and sorted: one pass stays cheap with tens of
  // thousands of sessions waiting while few agents are free.
  const routable = new Map<string, boolean>();
  const isRoutable = (queueId: string) => {
    let r = routable.get(queueId);
    if (r === undefined) {
      const steps = (options.routingOf?.(queueId) ?? DEFAULT_QUEUE_ROUTING).steps;
      r = (!options.onlyQueues || options.onlyQueues.has(queueId)) && (everyQueue.length > 0 || byQueue.has(queueId) || steps.some((st) => st.overflowTo?.some((o) => byQueue.has(o))));
      routable.set(queueId, r);
    }
    return r;
  };
  // Sessions transferred to a named agent can be routed even where the queue has nobody free.
  const targetQueues = new Set<string>();
  for (const [id, agentId] of Object.entries(view.targeted ?? {})) {
    const s = view.sessions[id];
    if (s?.status === 'queued' && byId.has(agentId)) targetQueues.add(s.place.queueId);
  }
  const queues = Object.keys(view.queued ?? {})
    .filter((q) => !touchedQueues || touchedQueues === 'all' || touchedQueues.has(q))
    .filter((q) => isRoutable(q) || ((!options.onlyQueues || options.onlyQueues.has(q)) && targetQueues.has(q)))
    .sort();
  for (const queueId of queues) {
    const routing = options.routingOf?.(queueId) ?? DEFAULT_QUEUE_ROUTING;
    const queueRoutable = isRoutable(queueId);
    for (const session of waitingOrder(view, queueId)) {
      // An incremental pass looks at the heads of its queues only: once none of its agents is free, it is done.
      if (candidates && !candidatesFree()) break;
      if (session.offer) continue;
      if (!queueRoutable && !(session.place.targetAgentId && byId.has(session.place.targetAgentId))) continue;
      if (session.place.notBefore && Date.parse(session.place.notBefore) > now) continue;
      const waitSeconds = (now - Date.parse(session.place.arrivedAt)) / 1000;
      const { index, step } = stepFor(routing, waitSeconds);
      const declined = view.declines[session.core.sessionId] ?? {};
      const fresh = (c: Candidate) => {
        const at = declined[c.agentId];
        return at === undefined || now - Date.parse(at) >= options.declineCooldownSeconds * 1000;
      };
      let pool: Candidate[];
      if (session.place.targetAgentId) {
        const target = byId.get(session.place.targetAgentId);
        pool = target ? [target] : [];
      } else {
        const seen = new Set<string>();
        pool = [];
        for (const q of [queueId, ...(step.overflowTo ?? [])]) {
          for (const c of byQueue.get(q) ?? []) {
            if (seen.has(c.agentId)) continue;
            seen.add(c.agentId);
            pool.push(c);
          }
        }
        for (const c of everyQueue) if (!seen.has(c.agentId)) pool.push(c);
      }
      const eligible = pool.filter(
        (c) =>
          free(c) &&
          fresh(c) &&
          (session.place.targetAgentId ? meetsRequirements(c.agent.profile, session, { afterSeconds: 0, ignoreSkills: true }) : meetsRequirements(c.agent.profile, session, step)),
      );
      if (eligible.length === 0) continue;
      const { pick, tieBreak } = choose(routing.strategy, eligible, session, load, lastOffered[queueId]);
      planned.push({
        sessionId: session.core.sessionId,
        agentId: pick.agentId,
        queueId,
        decision: {
          queueId,
          strategy: routing.strategy,
          step: index + 1,
          rule: describeStep(index, step, session),
          eligible: eligible
            .map((c) => c.agentId)
            .sort()
            .slice(0, MAX_RECORDED_ELIGIBLE),
          tieBreak,
        },
      });
      extraLoad.set(pick.agentId, (extraLoad.get(pick.agentId) ?? 0) + 1);
      lastOffered[queueId] = pick.agentId;
    }
  }
  return planned;
}

/**
 * Who and where an incremental pass looks: the touched agents and the queues they serve (and the queues that
 * overflow to those), plus, for each touched waiting session, its queue and every agent who could serve it there
 * or in its overflow queues.
 */
function candidatesFor(
  view: ContactCenterView,
  touched: { agents: Iterable<string>; sessions: Iterable<string> },
  routingOf: RoutingOptions['routingOf'],
): { agents: Set<string>; queues: Set<string> | 'all' } {
  const agents = new Set<string>();
  let queues: Set<string> | 'all' = new Set<string>();
  const servers = view.servers ?? {};
  const overflowInto = (queueId: string) => (routingOf?.(queueId) ?? DEFAULT_QUEUE_ROUTING).steps.flatMap((st) => st.overflowTo ?? []);
  const agentQueues = new Set<string>();
  for (const agentId of touched.agents) {
    const agent = view.agents[agentId];
    if (!agent || agent.status === 'unknown') continue;
    agents.add(agentId);
    if (agent.profile.queues === null) queues = 'all';
    else for (const q of agent.profile.queues) agentQueues.add(q);
  }
  const addServers = (q: string) => {
    for (const a in servers[q] ?? {}) agents.add(a);
  };
  if (queues !== 'all') {
    for (const q of agentQueues) queues.add(q);
    // Queues whose rule steps overflow into a queue a touched agent serves.
    if (agentQueues.size > 0) for (const q of Object.keys(view.queued ?? {})) if (overflowInto(q).some((o) => agentQueues.has(o))) queues.add(q);
  }
  for (const sessionId of touched.sessions) {
    const s = view.sessions[sessionId];
    if (s?.status !== 'queued' || s.offer) continue;
    if (queues !== 'all') queues.add(s.place.queueId);
    addServers(s.place.queueId);
    for (const o of overflowInto(s.place.queueId)) addServers(o);
    for (const a in view.anyQueue ?? {}) agents.add(a);
    if (s.place.targetAgentId) agents.add(s.place.targetAgentId);
  }
  return { agents, queues };
}
