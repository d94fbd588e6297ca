import {
  type AgentEvent,
  type AgentState,
  type EntryPointEvent,
  type EntryPointState,
  agentDecider,
  entryPointDecider,
} from '@parley/domain';
import type { Projection } from '@parley/event-store';

export interface Registry {
  entryPoints: Record<string, EntryPointState>;
  /** Published address → the entry point that registered it last. */
  byAddress: Record<string, string>;
  agents: Record<string, AgentState>;
}

/** Entry points and agents as registration sees them: for lookups and for the lease sweeper. */
export const registryProjection: Projection<Registry> = {
  name: 'registration-registry',
  version: 2,
  initial: () => ({ entryPoints: {}, byAddress: {}, agents: {} }),
  // Updated in place: the runner owns the state, and copying every map per event made a rebuild quadratic.
  apply(state, event) {
    if (event.aggregate === 'entrypoint') {
      const before = state.entryPoints[event.aggregateId] ?? entryPointDecider.initialState();
      const after = entryPointDecider.evolve(before, { type: event.type, data: event.data } as EntryPointEvent);
      state.entryPoints[event.aggregateId] = after;
      if (after.status === 'registered') state.byAddress[after.address] = event.aggregateId;
      return state;
    }
    if (event.aggregate === 'agent') {
      const before = state.agents[event.aggregateId] ?? agentDecider.initialState();
      state.agents[event.aggregateId] = agentDecider.evolve(before, { type: event.type, data: event.data } as AgentEvent);
    }
    return state;
  },
};
