import { Injectable } from '@nestjs/common';
import { LiveProjection, ProjectionSupport } from '@parley/service-kit';
import { type AgentRegistry, type EntryPointRegistry, agentRegistryProjection, entryPointRegistryProjection } from './registry.projection.js';

/** Entry points, live and checkpointed: lookups read it settled (with this process's own writes applied). */
@Injectable()
export class RegistryService extends LiveProjection<EntryPointRegistry> {
  constructor(support: ProjectionSupport) {
    super(support, entryPointRegistryProjection);
  }
}

/** Agents, live and checkpointed: the lease sweeper reads it as it stands. */
@Injectable()
export class AgentRegistryService extends LiveProjection<AgentRegistry> {
  constructor(support: ProjectionSupport) {
    super(support, agentRegistryProjection);
  }
}
