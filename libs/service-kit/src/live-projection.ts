import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { type EventStore, type Projection, ProjectionRunner } from '@parley/event-store';

/**
 * A projection a service keeps in memory: rebuilt from position 1 when the module starts, followed live, and
 * `fresh()` for queries that must see every event appended before them.
 */
export abstract class LiveProjection<S> implements OnModuleInit, OnApplicationShutdown {
  readonly runner: ProjectionRunner<S>;

  protected constructor(store: EventStore, projection: Projection<S>) {
    this.runner = new ProjectionRunner(store, projection);
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  async fresh(): Promise<S> {
    await this.runner.catchUp();
    return this.runner.state;
  }
}
