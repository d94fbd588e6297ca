import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Checkpoint, CheckpointStore } from './projection-runner.js';
import { DEFAULT_DURABILITY, type StreamDurability, openKvBucket } from './stream-durability.js';

/** Projection checkpoints (position and state together) in a JetStream KV bucket. */
export class KvCheckpointStore<S> implements CheckpointStore<S> {
  private constructor(private readonly kv: KV) {}

  static async create<S>(nc: NatsConnection, bucket = 'parley_projection_checkpoints', durability: StreamDurability = DEFAULT_DURABILITY): Promise<KvCheckpointStore<S>> {
    return new KvCheckpointStore<S>(await openKvBucket(nc, bucket, { history: 1 }, durability));
  }

  async load(key: string): Promise<Checkpoint<S> | undefined> {
    const entry = await this.kv.get(key);
    return entry && entry.operation === 'PUT' ? entry.json<Checkpoint<S>>() : undefined;
  }

  async save(key: string, checkpoint: Checkpoint<S>): Promise<void> {
    await this.kv.put(key, JSON.stringify(checkpoint));
  }
}

export class MemoryCheckpointStore<S> implements CheckpointStore<S> {
  private readonly saved = new Map<string, string>();
  async load(key: string): Promise<Checkpoint<S> | undefined> {
    const s = this.saved.get(key);
    return s === undefined ? undefined : (JSON.parse(s) as Checkpoint<S>);
  }
  async save(key: string, checkpoint: Checkpoint<S>): Promise<void> {
    this.saved.set(key, JSON.stringify(checkpoint));
  }
}
