import type { JetStreamManager } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A lease holder's name: the host (a pod's name in Kubernetes, for operators reading the bucket) and a random part, so two processes of one host differ. */
export const leaseHolderId = (): string =>
  `${hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 40)}-${randomBytes(4).toString('hex')}`;

/** How long after taking a lease its holder reads it back before acting on it. */
export const LEASE_CONFIRM_DELAY_MS = 100;

/**
 * Whether a lease just taken (a create or an update at the revision read, both checked by the stream's leader) is
 * still this holder's a moment later, read from the stream's leader (a KV read may be served by a replica a moment
 * behind). On nats-server 2.9 two conditional writes racing on one key of a replicated bucket can both be accepted
 * (the leader checks the expected sequence against what it has applied, not what it has in flight; fixed in later
 * releases): the rehearsal saw two routers take one queue 4 ms apart. The later write is the one stored, so both
 * racers reading back after their writes have been applied agree on one holder, and the other gives the lease up
 * before doing any work with it.
 */
export async function leaseConfirmed(jsm: JetStreamManager, bucket: string, key: string, holder: string, delayMs = LEASE_CONFIRM_DELAY_MS): Promise<boolean> {
  await new Promise((r) => setTimeout(r, delayMs));
  try {
    const m = await jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${key}` });
    const operation = m?.header?.get('KV-Operation');
    return !!m && !operation && m.string() === holder;
  } catch {
    return false; // unknown: not acted on; the next renewal finds out
  }
}
