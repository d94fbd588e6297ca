import { type DynamicModule, Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { type ConnectionOptions, connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { CommandHandler, type EventStore, JetStreamEventStore } from '@parley/event-store';
import { unavailable } from '@parley/errors';
import { CLOCK, systemClock } from './clock.js';
import { ConsumerSupervisor } from './consumer-supervisor.service.js';
import { DeliveryPublisher } from './delivery.publisher.js';
import { HealthController } from './health.controller.js';
import { ProjectionSupport } from './live-projection.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import { RequestRouter } from './request-router.service.js';
import { type ServiceConfig, streamDurability } from './service-config.js';
import { coalesceWrites } from './nats-write-coalescing.js';
import { reportNatsServerVersion } from './nats-server-version.js';
import { tracingEnabled } from './tracing.js';
import { EVENT_STORE, NATS_CONNECTION, SERVICE_CONFIG, SERVICE_NAME } from './tokens.js';

@Injectable()
class NatsConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}

/** The event store of a service without access to events: every call fails as unavailable. */
function noEventStore(service: string): EventStore {
  // Only the store's own methods fail; promise and lifecycle probes (then, onModuleInit, …) see nothing.
  // Providers are scanned by their constructor (decorator metadata): it is a plain class with none.
  class NoEventStore {}
  const notMethods = /^(then|toJSON|on[A-Z]\w*|before[A-Z]\w*)$/;
  return new Proxy(new NoEventStore() as EventStore, {
    get: (target, property) => {
      if (property === 'constructor') return NoEventStore;
      if (typeof property === 'symbol' || notMethods.test(property)) return undefined;
      return () => Promise.reject(unavailable(`${service} has no access to the event store`));
    },
  });
}

/** Replies to a service's requests come to its own inbox prefix: its NATS permissions allow no other. */
export const serviceInboxPrefix = (service: string) => `_INBOX_${service.replace(/[^A-Za-z0-9]/g, '_')}`;

/** How a service connects: its nkey (from a file), its inbox prefix, TLS when configured. Never logs a secret. */
export function natsConnectionOptions(service: string, config: ServiceConfig): ConnectionOptions {
  const seed = config.NATS_NKEY_SEED_FILE ? readFileSync(config.NATS_NKEY_SEED_FILE, 'utf8').trim() : undefined;
  const tls = config.NATS_TLS_CA_FILE
    ? { caFile: config.NATS_TLS_CA_FILE, ...(config.NATS_TLS_CERT_FILE ? { certFile: config.NATS_TLS_CERT_FILE, keyFile: config.NATS_TLS_KEY_FILE } : {}) }
    : undefined;
  return {
    servers: config.NATS_URL.split(','),
    name: `parley-${service}`,
    inboxPrefix: serviceInboxPrefix(service),
    ...(seed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)) } : config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD } : {}),
    ...(tls ? { tls } : {}),
  };
}

/**
 * What every Parley service has: the NATS connection, the event store, the command-handler shell, deliveries,
 * the request router, health, metrics and graceful shutdown. A service module imports this and adds its handlers.
 */
@Global()
@Module({})
export class ParleyPlatformModule {
  /**
   * `events: false` for services that never touch the event store (the channel gateways): they get no stream
   * permissions on PARLEY_EVENTS, so their event store refuses every call instead of connecting to it.
   */
  static forService(service: string, config: ServiceConfig, options: { events?: boolean } = {}): DynamicModule {
    // Provided and exported alike. Projections checkpoint in KV: only services with access to events have any.
    const shared = [...(options.events === false ? [] : [ProjectionSupport]), MetricsService, RequestRouter, DeliveryPublisher, ConsumerSupervisor, ReadinessChecks];
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
            // noAsyncTraces: the client would otherwise build an Error (a stack capture) for every request and
            // JetStream publish just in case it fails; at thousands of requests a second that was a tenth of the CPU.
            const nc = await connect({ ...natsConnectionOptions(service, config), waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true });
            coalesceWrites(nc);
            reportNatsServerVersion(nc, new Logger('Nats'), config.PARLEY_ENVIRONMENT);
            return nc;
          },
        },
        {
          provide: EVENT_STORE,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => {
            if (options.events === false) return noEventStore(service);
            const durability = streamDurability(config);
            const logger = new Logger('EventStore');
            return JetStreamEventStore.create(nc, {
              ...durability,
              tracing: tracingEnabled(),
              onSettingsDiffer: (stream, differences) => logger.warn({ msg: 'stream settings differ from this version; updating them', stream, differences }),
            });
          },
        },
        {
          provide: CommandHandler,
          inject: [EVENT_STORE],
          useFactory: (store: JetStreamEventStore) => new CommandHandler(store, { cacheSize: config.STATE_CACHE_SIZE }),
        },
        ...shared,
        NatsConnectionCloser,
      ],
      exports: [CLOCK, SERVICE_NAME, SERVICE_CONFIG, NATS_CONNECTION, EVENT_STORE, CommandHandler, ...shared],
    };
  }
}
