import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Consumption, EventHandler, EventStore } from '@parley/event-store';
import { MetricsService } from './metrics.service.js';
import { EVENT_STORE, SERVICE_CONFIG } from './tokens.js';
import type { ServiceConfig } from './service-config.js';

/** Starts a service's durable event consumers and stops them (finishing the event in hand) at shutdown. */
@Injectable()
export class ConsumerSupervisor implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ConsumerSupervisor');
  private readonly running: Consumption[] = [];

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly metrics: MetricsService,
  ) {}

  async start(name: string, aggregate: string | undefined, handler: EventHandler): Promise<void> {
    const consumption = await this.store.consume({ name, aggregate, ackWaitMs: this.config.CONSUMER_ACK_WAIT_MS }, async (event) => {
      try {
        await handler(event);
        this.metrics.eventsHandled.inc({ consumer: name, outcome: 'ok' });
      } catch (err) {
        this.metrics.eventsHandled.inc({ consumer: name, outcome: 'error' });
        this.logger.error({ msg: 'event handler failed; it will be redelivered', consumer: name, eventId: event.id, type: event.type, position: event.position, err: String((err as Error)?.stack ?? err) });
        throw err;
      }
    });
    this.running.push(consumption);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.running.map((c) => c.stop()));
  }
}
