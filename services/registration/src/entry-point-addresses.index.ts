import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { unavailable } from '@parley/errors';
import { openKvBucket } from '@parley/event-store';
import { NATS_CONNECTION, SERVICE_CONFIG, type ServiceConfig, streamDurability } from '@parley/service-kit';
import { createHash } from 'node:crypto';

/**
 * Who claimed an address last, when (the request's time), and the version their entry point's stream had then: a
 * stream still at that version has not written the registration the claim was made for.
 */
export interface AddressClaim {
  entryPointId: string;
  claimedAt: string;
  streamVersion: number;
}

/**
 * How long a claim counts as held while its registration is not in the store yet: a registration writes its event just
 * after claiming, so one racing it finds the claim but not the registration. One that died in between blocks the
 * address this long.
 */
export const CLAIM_GRACE_MS = 10_000;
/** Claims lost to other writers in a row before giving up: each loss means another registration of the address won. */
const MAX_ATTEMPTS = 10;

export type ClaimOutcome = { outcome: 'claimed' } | { outcome: 'held'; by: AddressClaim };

/** Another writer changed the key first (a create of an existing key, an update at a revision no longer current). */
const lostRace = (err: unknown): boolean =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * Which entry point claimed each published address, in JetStream KV: the one place two registrations of an address,
 * on one instance or on two, cannot both win (a create, or an update at the revision read, checked by the stream).
 * Registration's projection answers lookups; this answers "whose is it" at the moment of a write, and tells a lookup
 * that its projection may be behind a registration made on the other instance.
 */
@Injectable()
export class EntryPointAddressesIndex implements OnModuleInit {
  private kv!: KV;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.kv = await openKvBucket(this.nc, 'parley_entry_point_addresses', { history: 1 }, streamDurability(this.config));
  }

  /** KV keys allow few characters; an address can hold any. */
  private key(address: string): string {
    return createHash('sha256').update(address).digest('hex');
  }

  private async entry(address: string) {
    try {
      return await this.kv.get(this.key(address));
    } catch (err) {
      throw unavailable('the address index is not answering; try again', undefined, err);
    }
  }

  /** The last claim of an address and its revision, if any (its entry point may have let it go since: the caller checks). */
  async claimOf(address: string): Promise<(AddressClaim & { revision: number }) | undefined> {
    const entry = await this.entry(address);
    return entry && entry.operation === 'PUT' ? { ...entry.json<AddressClaim>(), revision: entry.revision } : undefined;
  }

  /**
   * Claims an address for an entry point unless another holds it (`holds` says whether an earlier claim of another
   * entry point still does). The entry point's own earlier claim is written again, at its revision, so a rival that
   * read it before sees the change and looks again.
   */
  async claim(address: string, mine: AddressClaim, holds: (claim: AddressClaim) => Promise<boolean>): Promise<ClaimOutcome> {
    const key = this.key(address);
    const value = JSON.stringify(mine);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const entry = await this.entry(address);
      if (entry?.operation === 'PUT') {
        const claim = entry.json<AddressClaim>();
        if (claim.entryPointId !== mine.entryPointId && (await holds(claim))) return { outcome: 'held', by: claim };
      }
      try {
        // Free, a delete marker, or this entry point's own: written at the revision read (0: the key must not exist).
        await (entry ? this.kv.update(key, value, entry.revision) : this.kv.create(key, value));
        return { outcome: 'claimed' };
      } catch (err) {
        if (!lostRace(err)) throw unavailable('the address index is not answering; try again', undefined, err);
      }
    }
    throw unavailable('the address is being registered by others at this moment; try again');
  }

  /** Lets an address go unless it was claimed again since `revision` was read (a registration right after an unregistration). */
  async release(address: string, revision: number): Promise<void> {
    await this.kv.delete(this.key(address), { previousSeq: revision }).catch(() => undefined);
  }
}
