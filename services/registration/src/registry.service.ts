import { Injectable } from '@nestjs/common';
import { LiveProjection, ProjectionSupport } from '@parley/service-kit';
import { type Registry, registryProjection } from './registry.projection.js';

/** Entry points and agents, live and checkpointed: lookups read it settled, the lease sweeper as it stands. */
@Injectable()
export class RegistryService extends LiveProjection<Registry> {
  constructor(support: ProjectionSupport) {
    super(support, registryProjection);
  }
}
