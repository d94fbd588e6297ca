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
  version: 1,
  initial: () => ({ entryPoints: {}, byAddress: {}, agents: {} }),
  apply(state, event) {
    if (event.aggregate === 'entrypoint') {
      const before = state.entryPoints[event.aggregateId] ?? entryPointDecider.initialState();
      const after = entryPointDecider.evolve(before, { type: event.type, data: event.data } as EntryPointEvent);
      const byAddress = after.status === 'registered' ? { ...state.byAddress, [after.address]: event.aggregateId } : state.byAddress;
      return { ...state, entryPoints: { ...state.entryPoints, [event.aggregateId]: after }, byAddress };
    }
    if (event.aggregate === 'agent') {
      const before = state.agents[event.aggregateId] ?? agentDecider.initialState();
      return { ...state, agents: { ...state.agents, [event.aggregateId]: agentDecider.evolve(before, { type: event.type, data: event.data } as AgentEvent) } };
    }
    return state;
  },
};
