import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { CoalescingTask, NATS_CONNECTION, SERVICE_CONFIG } from '@parley/service-kit';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RouterConfig } from './router.config.js';
import { RoutingViewService } from './routing-view.service.js';

/**
 * Partitions the queues among router instances: one owner per queue at a time, by a lease in JetStream KV
 * that the owner renews. The bucket's TTL ends a lease that is not renewed, so when an instance dies its queues
 * go to another within QUEUE_LEASE_SECONDS. Ownership only spreads the work: correctness never depends on it,
 * because offers reserve capacity on the agent's stream and offer on the session's with optimistic concurrency.
 */
@Injectable()
export class QueueLeases implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueLeases');
  readonly instanceId: string;
  private kv!: KV;
  private readonly owned = new Set<string>();
  private readonly task = new CoalescingTask('queue lease renewal', () => this.renew(), this.logger);

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: RouterConfig,
    private readonly view: RoutingViewService,
  ) {
    this.instanceId = config.ROUTER_INSTANCE_ID ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  }

  async onModuleInit(): Promise<void> {
    this.kv = await new Kvm(this.nc).create('parley_router_queues', { history: 1, ttl: this.config.QUEUE_LEASE_SECONDS * 1000 });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.renew();
    this.task.every(Math.max(200, Math.floor((this.config.QUEUE_LEASE_SECONDS * 1000) / 3)));
  }

  /** The queues this instance routes now. */
  get queues(): ReadonlySet<string> {
    return this.owned;
  }

  /** Queues the view knows: those with sessions and those agents serve. */
  private knownQueues(): Set<string> {
    const state = this.view.runner.state;
    const queues = new Set<string>();
    for (const s of Object.values(state.sessions)) if (s.status === 'queued') queues.add(s.place.queueId);
    for (const a of Object.values(state.agents)) if (a.status !== 'unknown' && a.profile.queues) for (const q of a.profile.queues) queues.add(q);
    return queues;
  }

  private async renew(): Promise<void> {
    for (const queueId of this.knownQueues()) {
      const entry = await this.kv.get(queueId);
      let mine = false;
      try {
        if (!entry || entry.operation !== 'PUT') {
          await this.kv.create(queueId, this.instanceId);
          mine = true;
        } else if (entry.string() === this.instanceId) {
          await this.kv.update(queueId, this.instanceId, entry.revision);
          mine = true;
        }
      } catch {
        mine = false; // another instance took it first
      }
      if (mine && !this.owned.has(queueId)) this.logger.log({ msg: 'routing queue', queueId, instanceId: this.instanceId });
      if (!mine && this.owned.has(queueId)) this.logger.log({ msg: 'queue routed elsewhere now', queueId, instanceId: this.instanceId });
      if (mine) this.owned.add(queueId);
      else this.owned.delete(queueId);
    }
  }

  /** Hands the queues back at shutdown, so another instance takes them at once instead of after the TTL. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
    for (const queueId of this.owned) {
      const entry = await this.kv.get(queueId).catch(() => null);
      if (entry && entry.string() === this.instanceId) await this.kv.delete(queueId, { previousSeq: entry.revision }).catch(() => undefined);
    }
    this.owned.clear();
  }
}
