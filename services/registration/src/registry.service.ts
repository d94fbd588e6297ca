import { Inject, Injectable } from '@nestjs/common';
import type { EventStore } from '@parley/event-store';
import { EVENT_STORE, LiveProjection } from '@parley/service-kit';
import { type Registry, registryProjection } from './registry.projection.js';

/** Entry points and agents, live: lookups read it fresh, the lease sweeper reads it as it stands. */
@Injectable()
export class RegistryService extends LiveProjection<Registry> {
  constructor(@Inject(EVENT_STORE) store: EventStore) {
    super(store, registryProjection);
  }
}
