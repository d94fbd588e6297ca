import { type AgentState, agentLoad } from './agent.decider.js';
import { type ContactCenterView, type WaitingSession, servesQueue, waitingByQueue } from './contact-center.view.js';
import type { AgentProfile } from './agent.decider.js';

export interface PlannedOffer {
  sessionId: string;
  agentId: string;
  queueId: string;
}

export interface RoutingOptions {
  now: string;
  /** An agent who declined a session is not offered it again for this long, unless nobody else can take it. */
  declineCooldownSeconds: number;
}

type Available = Extract<AgentState, { status: 'available' }>;

const sameLanguage = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || a.split('-')[0]!.toLowerCase() === b.split('-')[0]!.toLowerCase();

/** Whether an agent meets a session's requirements: every skill at its level, the language, the client's capabilities. */
export function meetsRequirements(profile: AgentProfile, session: WaitingSession): boolean {
  const r = session.place.requirements;
  if (!r) return true;
  if (Object.entries(r.skills).some(([skill, level]) => (profile.skills[skill] ?? 0) < level)) return false;
  if (r.language && !profile.languages.some((l) => sameLanguage(l, r.language!))) return false;
  return r.capabilities.every((c) => profile.capabilities.includes(c));
}

/**
 * First policy: within each queue, sessions in order (priority, then arrival) each go to the longest-idle
 * available agent of that queue with free capacity. Pure: the same view and time give the same offers.
 */
export function planOffers(view: ContactCenterView, options: RoutingOptions): PlannedOffer[] {
  const now = Date.parse(options.now);
  const planned: PlannedOffer[] = [];
  const extraLoad = new Map<string, number>();
  const agents = Object.entries(view.agents)
    .filter((entry): entry is [string, Available] => entry[1].status === 'available')
    .sort(([aId, a], [bId, b]) => Date.parse(a.idleSince) - Date.parse(b.idleSince) || (aId < bId ? -1 : aId > bId ? 1 : 0));
  const free = (agentId: string, agent: Available) => agentLoad(agent, options.now) + (extraLoad.get(agentId) ?? 0) < agent.profile.capacity;

  const queues = [...waitingByQueue(view).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [queueId, waiting] of queues) {
    for (const session of waiting) {
      if (session.offer) continue;
      if (session.place.notBefore && Date.parse(session.place.notBefore) > now) continue;
      const declined = view.declines[session.core.sessionId] ?? {};
      const eligible = agents.filter(([agentId, agent]) => servesQueue(agent, queueId) && free(agentId, agent) && meetsRequirements(agent.profile, session));
      const fresh = eligible.filter(([agentId]) => {
        const at = declined[agentId];
        return at === undefined || now - Date.parse(at) >= options.declineCooldownSeconds * 1000;
      });
      const pick = fresh[0];
      if (!pick) continue;
      planned.push({ sessionId: session.core.sessionId, agentId: pick[0], queueId });
      extraLoad.set(pick[0], (extraLoad.get(pick[0]) ?? 0) + 1);
    }
  }
  return planned;
}
