import { type JetStreamClient, JetStreamApiError, type JetStreamManager, type StreamConfig, type StreamInfo, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type KV, type KvOptions, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isJetStreamUnavailable, untilJetStreamAnswers } from './jetstream-availability.js';

/** How durably Parley's streams and KV buckets are stored: what the deployment asks for (PARLEY_STREAM_*). */
export interface StreamDurability {
  /** JetStream replicas of every stream and bucket (1, 3 or 5 in a cluster; 1 on a single server). */
  replicas: number;
  storage: 'file' | 'memory';
}

export const DEFAULT_DURABILITY: StreamDurability = { replicas: 1, storage: 'file' };

/**
 * How long Parley waits for the JetStream API (stream and consumer info, message gets, KV reads and writes, lease
 * renewals): every such call is idempotent and answered within milliseconds by a group that has a leader. When its
 * leader is gone (a node lost, a cluster restarting), nats.js's default 5 s was spent waiting before each retry;
 * 2 s lets the retry reach the new leader sooner. Publishes have their own timeout (JetStreamPublisher).
 */
export const JETSTREAM_API_TIMEOUT_MS = 2_000;

/**
 * A JetStream manager for a service's own use. Not checked at creation (`checkAPI: false`): that check is an
 * account-info round trip that times out while a cluster elects its meta leader, and turned a service's start
 * into a crash; the calls made with the manager say soon enough whether JetStream answers.
 */
export const jetStreamManagerFor = (nc: NatsConnection): Promise<JetStreamManager> => jetstreamManager(nc, { timeout: JETSTREAM_API_TIMEOUT_MS, checkAPI: false });

/** A JetStream client for a service's own use, with the same API timeout and no check at creation. */
export const jetStreamClientFor = (nc: NatsConnection): JetStreamClient => jetstream(nc, { timeout: JETSTREAM_API_TIMEOUT_MS, checkAPI: false });

/**
 * An existing stream or bucket is stored less (or otherwise) durably than the deployment asks. Parley refuses
 * to start rather than change replicas or storage by itself: several instances of several versions start at
 * once, and a change of replicas is an operator's decision (`nats stream edit NAME --replicas N`).
 * `problems` makes the service exit like a configuration problem (code 78).
 */
export class StreamDurabilityError extends Error {
  override readonly name = 'StreamDurabilityError';
  readonly problems: string[];
  constructor(
    readonly stream: string,
    readonly differences: string[],
  ) {
    super(
      `stream ${stream} is not stored as PARLEY_STREAM_REPLICAS / PARLEY_STREAM_STORAGE ask: ${differences.join('; ')}. ` +
        `Change the stream (nats stream edit ${stream} --replicas N) or the setting, then start again.`,
    );
    this.problems = differences.map((d) => `${stream}: ${d}`);
  }
}

export const storageType = (storage: StreamDurability['storage']) => (storage === 'memory' ? StorageType.Memory : StorageType.File);

/** The durability differences between an existing stream's configuration and what is asked; empty when none. */
export function durabilityDifferences(existing: Pick<StreamConfig, 'num_replicas' | 'storage'>, asked: StreamDurability): string[] {
  const differences: string[] = [];
  const replicas = existing.num_replicas || 1;
  if (replicas !== asked.replicas) differences.push(`replicas: the stream has ${replicas}, PARLEY_STREAM_REPLICAS asks ${asked.replicas}`);
  if (existing.storage !== storageType(asked.storage)) differences.push(`storage: the stream has ${existing.storage}, PARLEY_STREAM_STORAGE asks ${asked.storage}`);
  return differences;
}

/** Settings besides durability that differ from what this version of Parley would create (worth a warning, not a refusal). */
export function settingDifferences(existing: Partial<StreamConfig>, wanted: Partial<StreamConfig>, keys: readonly (keyof StreamConfig)[]): string[] {
  const differences: string[] = [];
  for (const key of keys) {
    const have = JSON.stringify(existing[key] ?? null);
    const want = JSON.stringify(wanted[key] ?? null);
    if (have !== want) differences.push(`${key}: the stream has ${have}, Parley creates ${want}`);
  }
  return differences;
}

/** Throws StreamDurabilityError when an existing stream is not stored as asked. */
export function assertDurability(stream: string, existing: Pick<StreamConfig, 'num_replicas' | 'storage'>, asked: StreamDurability): void {
  const differences = durabilityDifferences(existing, asked);
  if (differences.length > 0) throw new StreamDurabilityError(stream, differences);
}

/** The stream's info, or undefined when it does not exist. */
export async function streamInfoIfAny(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) return undefined;
    if (err instanceof Error && /stream not found/i.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * Opens a KV bucket, creating it with the asked replicas and storage when missing; an existing bucket stored
 * otherwise refuses (StreamDurabilityError). Every KV bucket of Parley is opened through here, at start-up, and
 * waits while JetStream is unavailable (untilJetStreamAnswers).
 */
export async function openKvBucket(nc: NatsConnection, bucket: string, options: Partial<Omit<KvOptions, 'replicas' | 'storage'>>, durability: StreamDurability = DEFAULT_DURABILITY): Promise<KV> {
  return untilJetStreamAnswers(`bucket ${bucket}`, async () => {
    const kv = await new Kvm(jetStreamClientFor(nc)).create(bucket, {
      ...options,
      replicas: durability.replicas,
      storage: storageType(durability.storage),
    });
    const status = await kv.status();
    assertDurability(`KV_${bucket}`, { num_replicas: status.replicas, storage: status.storage }, durability);
    return kv;
  });
}

/**
 * Creates a stream with the asked replicas and storage when missing. An existing one stored otherwise refuses
 * (StreamDurabilityError); its other settings among `compare` that differ are reported and left as they are.
 * Waits while JetStream is unavailable (untilJetStreamAnswers): it runs at start-up.
 */
export async function ensureDurableStream(
  nc: NatsConnection,
  config: Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>,
  durability: StreamDurability,
  compare: readonly (keyof StreamConfig)[],
  onSettingsDiffer?: (stream: string, differences: string[]) => void,
): Promise<StreamInfo> {
  const wanted = { ...config, storage: storageType(durability.storage), num_replicas: durability.replicas };
  const existing = await untilJetStreamAnswers(`stream ${config.name}`, async () => {
    const jsm = await jetStreamManagerFor(nc);
    const found = await streamInfoIfAny(jsm, config.name);
    if (found) return found;
    try {
      return await jsm.streams.add(wanted);
    } catch (addErr) {
      // Another instance created it meanwhile; check what it created.
      if (!(addErr instanceof JetStreamApiError) || isJetStreamUnavailable(addErr)) throw addErr;
      return jsm.streams.info(config.name);
    }
  });
  assertDurability(config.name, existing.config, durability);
  const differences = settingDifferences(existing.config, wanted, compare);
  if (differences.length > 0) onSettingsDiffer?.(config.name, differences);
  return existing;
}
