import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CommandHandler, JetStreamEventStore } from '@parley/event-store';
import { CLOCK, systemClock } from './clock.js';
import { ConsumerSupervisor } from './consumer-supervisor.service.js';
import { DeliveryPublisher } from './delivery.publisher.js';
import { HealthController } from './health.controller.js';
import { ProjectionSupport } from './live-projection.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import { RequestRouter } from './request-router.service.js';
import { type ServiceConfig, streamDurability } from './service-config.js';
import { reportNatsServerVersion } from './nats-server-version.js';
import { EVENT_STORE, NATS_CONNECTION, SERVICE_CONFIG, SERVICE_NAME } from './tokens.js';

@Injectable()
class NatsConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/**
 * What every Parley service has: the NATS connection, the event store, the command-handler shell, deliveries,
 * the request router, health, metrics and graceful shutdown. A service module imports this and adds its handlers.
 */
@Global()
@Module({})
export class ParleyPlatformModule {
  static forService(service: string, config: ServiceConfig): DynamicModule {
    return {
      module: ParleyPlatformModule,
      imports: [DiscoveryModule],
      controllers: [HealthController],
      providers: [
        { provide: SERVICE_NAME, useValue: service },
        { provide: CLOCK, useValue: systemClock },
        { provide: SERVICE_CONFIG, useValue: config },
        {
          provide: NATS_CONNECTION,
          useFactory: async () => {
            const credentials = config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD } : {};
            // noAsyncTraces: the client would otherwise build an Error (a stack capture) for every request and
            // JetStream publish just in case it fails; at thousands of requests a second that was a tenth of the CPU.
            const nc = await connect({
              servers: config.NATS_URL.split(','),
              name: `parley-${service}`,
              waitOnFirstConnect: true,
              maxReconnectAttempts: -1,
              reconnectTimeWait: 500,
              noAsyncTraces: true,
              ...credentials,
            });
            reportNatsServerVersion(nc, new Logger('Nats'), config.PARLEY_ENVIRONMENT);
            return nc;
          },
        },
        {
          provide: EVENT_STORE,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => {
            const durability = streamDurability(config);
            const logger = new Logger('EventStore');
            return JetStreamEventStore.create(nc, {
              ...durability,
              onSettingsDiffer: (stream, differences) => logger.warn({ msg: 'stream settings differ from this version; updating them', stream, differences }),
            });
          },
        },
        {
          provide: CommandHandler,
          inject: [EVENT_STORE],
          useFactory: (store: JetStreamEventStore) => new CommandHandler(store, { cacheSize: config.STATE_CACHE_SIZE }),
        },
        ProjectionSupport,
        MetricsService,
        RequestRouter,
        DeliveryPublisher,
        ConsumerSupervisor,
        ReadinessChecks,
        NatsConnectionCloser,
      ],
      exports: [CLOCK, SERVICE_NAME, SERVICE_CONFIG, NATS_CONNECTION, EVENT_STORE, CommandHandler, ProjectionSupport, MetricsService, RequestRouter, DeliveryPublisher, ConsumerSupervisor, ReadinessChecks],
    };
  }
}
