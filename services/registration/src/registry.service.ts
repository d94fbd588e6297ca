import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type EventStore, ProjectionRunner } from '@parley/event-store';
import { EVENT_STORE } from '@parley/service-kit';
import { type Registry, registryProjection } from './registry.projection.js';

/** The registry projection, live, with read-your-writes through `fresh()`. */
@Injectable()
export class RegistryService implements OnModuleInit, OnApplicationShutdown {
  readonly runner: ProjectionRunner<Registry>;

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    this.runner = new ProjectionRunner(store, registryProjection);
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  /** The registry including every event appended before this call. */
  async fresh(): Promise<Registry> {
    await this.runner.catchUp();
    return this.runner.state;
  }
}
