import { type AgentEvent, type AgentState, type EntryPointEvent, type EntryPointState, agentDecider, entryPointDecider } from '@parley/domain';
import type { Projection } from '@parley/event-store';

export interface EntryPointRegistry {
  entryPoints: Record<string, EntryPointState>;
  /** Published address → the entry point that registered it last. */
  byAddress: Record<string, string>;
}

export interface AgentRegistry {
  agents: Record<string, AgentState>;
}

/**
 * Entry points as registration sees them, for lookups and the lease sweeper. It follows only entry-point events
 * (a filtered tail: the contact center's session traffic never reaches it). Updated in place: the runner owns
 * the state, and copying every map per event made a rebuild quadratic.
 */
export const entryPointRegistryProjection: Projection<EntryPointRegistry> = {
  name: 'registration-entry-points',
  version: 1,
  aggregate: 'entrypoint',
  initial: () => ({ entryPoints: {}, byAddress: {} }),
  apply(state, event) {
    const before = state.entryPoints[event.aggregateId] ?? entryPointDecider.initialState();
    const after = entryPointDecider.evolve(before, { type: event.type, data: event.data } as EntryPointEvent);
    state.entryPoints[event.aggregateId] = after;
    if (after.status === 'registered') state.byAddress[after.address] = event.aggregateId;
    return state;
  },
};

/** Agents as registration sees them, for the lease sweeper: only agent events. */
export const agentRegistryProjection: Projection<AgentRegistry> = {
  name: 'registration-agents',
  version: 1,
  aggregate: 'agent',
  initial: () => ({ agents: {} }),
  apply(state, event) {
    const before = state.agents[event.aggregateId] ?? agentDecider.initialState();
    state.agents[event.aggregateId] = agentDecider.evolve(before, { type: event.type, data: event.data } as AgentEvent);
    return state;
  },
};
