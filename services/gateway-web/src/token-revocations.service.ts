import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { openKvBucket } from '@parley/event-store';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, streamDurability } from '@parley/service-kit';
import { MAX_TOKEN_SECONDS, type RevocationList } from './tokens.js';

/** Signed-out token IDs, shared by every gateway-web instance; entries expire with the longest token life. */
export const REVOCATIONS_BUCKET = 'parley_web_revocations';

/**
 * Sign-out revokes a token on every instance: the token ID goes into a JetStream KV bucket whose entries outlive
 * any token, and each instance follows the bucket into memory, so checking a token costs no round trip.
 */
@Injectable()
export class TokenRevocations implements RevocationList, OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('TokenRevocations');
  private readonly revoked = new Set<string>();
  private readonly listeners = new Set<(jti: string) => void>();
  private kv!: KV;
  private stopWatch?: () => void;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // Replicated like every other Parley bucket: on a single replica, losing its NATS node stops sign-outs.
    this.kv = await openKvBucket(this.nc, REVOCATIONS_BUCKET, { history: 1, ttl: (MAX_TOKEN_SECONDS + 300) * 1000 }, streamDurability(this.config));
    const watch = await this.kv.watch();
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch as AsyncIterable<KvWatchEntry>) if (entry.operation === 'PUT') this.add(entry.key);
    })().catch((err: unknown) => this.logger.error({ msg: 'revocation watch stopped', err: String(err) }));
  }

  private add(jti: string): void {
    if (this.revoked.has(jti)) return;
    this.revoked.add(jti);
    for (const listener of this.listeners) listener(jti);
  }

  /** Called with each token ID revoked from now on, here or on another instance (open sockets close on it). */
  onRevoke(listener: (jti: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isRevoked(jti: string): boolean {
    return this.revoked.has(jti);
  }

  /** Revokes a token ID here at once and, through the bucket, on the other instances. */
  async revoke(jti: string): Promise<void> {
    this.add(jti);
    await this.kv.put(jti, '1');
  }

  beforeApplicationShutdown(): void {
    this.stopWatch?.();
  }
}
