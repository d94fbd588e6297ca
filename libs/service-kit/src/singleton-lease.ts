import type { KV } from '@nats-io/kv';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';
import { jetStreamManagerFor, openKvBucket } from '@parley/event-store';
import { renewalPeriodMs } from './lapsed-leases.js';
import { leaseConfirmed, leaseHolderId } from './lease-confirmation.js';
import { type ServiceConfig, streamDurability } from './service-config.js';

/**
 * One instance of a service at a time does a job that must not be done twice (reporting's status pass: two
 * instances each telling every waiting customer their place sent each status twice). The holder of a key in the
 * consumer-lease bucket does it, renewing the key every renewal period; a holder that stops hands the key back at
 * once, one that dies lets it lapse with the bucket's TTL (`CONSUMER_LEASE_SECONDS`), and another instance takes it
 * on its next try. A holder that cannot renew stops counting itself the holder when the key would have lapsed.
 */
export class SingletonLease {
  private readonly logger = new Logger('SingletonLease');
  private readonly instanceId = leaseHolderId();
  private revision?: number;
  private heldUntil = 0;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  private failures = 0;
  /** What `onChange` was last told: `held` turns false by itself when the key would have lapsed, unannounced. */
  private reported = false;

  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly onChange: (held: boolean) => void,
  ) {}

  /** Starts trying for the lease on `singleton.<service>.<job>`; `onChange` hears each time it is taken or lost. */
  static async start(nc: NatsConnection, config: ServiceConfig, service: string, job: string, onChange: (held: boolean) => void = () => undefined): Promise<SingletonLease> {
    const kv = await openKvBucket(nc, 'parley_consumer_leases', { history: 1, ttl: config.CONSUMER_LEASE_SECONDS * 1000 }, streamDurability(config));
    // The bucket keeps the TTL of whoever made it: a key lapses by the shorter of that and this service's setting.
    const bucketTtlMs = (await kv.status()).ttl;
    const ttlMs = bucketTtlMs > 0 ? Math.min(bucketTtlMs, config.CONSUMER_LEASE_SECONDS * 1000) : config.CONSUMER_LEASE_SECONDS * 1000;
    const lease = new SingletonLease(kv, await jetStreamManagerFor(nc), `singleton.${service}.${job}`, ttlMs, onChange);
    await lease.tick();
    lease.timer = setInterval(() => void lease.tick(), renewalPeriodMs(config.CONSUMER_LEASE_SECONDS));
    return lease;
  }

  /** Whether this instance holds the lease now. */
  get held(): boolean {
    return this.revision !== undefined && Date.now() < this.heldUntil;
  }

  private tick(): Promise<void> {
    this.ticking ??= this.renewOrTake().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private report(): void {
    const held = this.held;
    if (held === this.reported) return;
    this.reported = held;
    this.onChange(held);
  }

  private async renewOrTake(): Promise<void> {
    if (this.stopped) return;
    this.report(); // a lapse since the last tick
    const startedAt = Date.now();
    try {
      if (this.revision !== undefined) {
        this.revision = await this.kv.update(this.key, this.instanceId, this.revision);
      } else {
        const entry = await this.kv.get(this.key);
        if (entry?.operation === 'PUT' && entry.string() !== this.instanceId) return; // held by another instance
        // Free (never taken, handed back, lapsed), or ours already (a write that landed after its answer was lost).
        const revision = entry ? await this.kv.update(this.key, this.instanceId, entry.revision) : await this.kv.create(this.key, this.instanceId);
        if (!(await leaseConfirmed(this.jsm, 'parley_consumer_leases', this.key, this.instanceId))) return;
        this.revision = revision;
      }
      this.heldUntil = startedAt + this.ttlMs;
      this.failures = 0;
    } catch (err) {
      // Another instance took it after ours lapsed (the update's revision is stale), or NATS did not answer: held
      // until the key would lapse, then not. A stale revision can never overwrite or delete another's key.
      if (this.failures++ === 0) this.logger.warn({ msg: 'singleton lease not renewed', key: this.key, err: String(err) });
      if (Date.now() >= this.heldUntil) this.revision = undefined;
    } finally {
      this.report();
    }
  }

  /** Hands the lease back, so another instance takes it at once rather than after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    const revision = this.revision;
    this.revision = undefined;
    this.heldUntil = 0;
    // Deleted only at our own revision: a key another instance holds since is left alone.
    if (revision !== undefined) await this.kv.delete(this.key, { previousSeq: revision }).catch(() => undefined);
    this.report();
  }
}
