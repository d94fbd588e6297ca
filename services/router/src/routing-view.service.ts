import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type ContactCenterView, contactCenterProjection } from '@parley/domain';
import { type EventStore, ProjectionRunner } from '@parley/event-store';
import { EVENT_STORE } from '@parley/service-kit';

/** The routable view: waiting sessions and agents, rebuilt from position 1 at start and followed live. */
@Injectable()
export class RoutingViewService implements OnModuleInit, OnApplicationShutdown {
  readonly runner: ProjectionRunner<ContactCenterView>;

  constructor(@Inject(EVENT_STORE) store: EventStore) {
    this.runner = new ProjectionRunner(store, contactCenterProjection('router-view'));
  }

  async onModuleInit(): Promise<void> {
    await this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  async fresh(): Promise<ContactCenterView> {
    await this.runner.catchUp();
    return this.runner.state;
  }
}
