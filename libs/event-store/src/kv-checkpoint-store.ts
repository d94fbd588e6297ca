import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Checkpoint, CheckpointStore } from './projection-runner.js';
import { DEFAULT_DURABILITY, type StreamDurability, openKvBucket } from './stream-durability.js';

/** A KV value must fit in one NATS message (1 MiB by default): larger checkpoints are split. */
const CHUNK_BYTES = 512 * 1024;

interface Manifest {
  position: number;
  generation: number;
  chunks: number;
  bytes: number;
}

/**
 * Projection checkpoints (position and state together) in a JetStream KV bucket. A state of any size is written
 * as chunks of a new generation first, then a manifest naming that generation: a crash mid-save leaves the
 * previous checkpoint whole.
 */
export class KvCheckpointStore<S> implements CheckpointStore<S> {
  private constructor(private readonly kv: KV) {}

  static async create<S>(nc: NatsConnection, bucket = 'parley_projection_checkpoints', durability: StreamDurability = DEFAULT_DURABILITY): Promise<KvCheckpointStore<S>> {
    return new KvCheckpointStore<S>(await openKvBucket(nc, bucket, { history: 1 }, durability));
  }

  async load(key: string): Promise<Checkpoint<S> | undefined> {
    const entry = await this.kv.get(`${key}.manifest`);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const manifest = entry.json<Manifest>();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < manifest.chunks; i++) {
      const chunk = await this.kv.get(`${key}.g${manifest.generation}.c${i}`);
      if (!chunk || chunk.operation !== 'PUT') return undefined; // an incomplete checkpoint is no checkpoint: rebuild
      parts.push(chunk.value);
    }
    const state = JSON.parse(Buffer.concat(parts).toString('utf8')) as S;
    return { position: manifest.position, state };
  }

  async save(key: string, position: number, stateJson: string): Promise<void> {
    const previous = await this.kv.get(`${key}.manifest`);
    const before = previous?.operation === 'PUT' ? previous.json<Manifest>() : undefined;
    const generation = (before?.generation ?? 0) + 1;
    const bytes = Buffer.from(stateJson, 'utf8');
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    for (let i = 0; i < chunks; i++) await this.kv.put(`${key}.g${generation}.c${i}`, bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    await this.kv.put(`${key}.manifest`, JSON.stringify({ position, generation, chunks, bytes: bytes.length } satisfies Manifest));
    if (before) for (let i = 0; i < before.chunks; i++) await this.kv.purge(`${key}.g${before.generation}.c${i}`).catch(() => undefined);
  }
}

export class MemoryCheckpointStore<S> implements CheckpointStore<S> {
  private readonly saved = new Map<string, { position: number; stateJson: string }>();
  async load(key: string): Promise<Checkpoint<S> | undefined> {
    const s = this.saved.get(key);
    return s === undefined ? undefined : { position: s.position, state: JSON.parse(s.stateJson) as S };
  }
  async save(key: string, position: number, stateJson: string): Promise<void> {
    this.saved.set(key, { position, stateJson });
  }
}
