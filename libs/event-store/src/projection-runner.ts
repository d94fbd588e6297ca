import type { Consumption, EventStore, Following, StoredEvent } from './event-store.port.js';

/**
 * A read model built from events. `apply` must be pure; the runner makes it idempotent by position, so a
 * redelivered event never counts twice. Bump `version` when `apply` changes: the new version rebuilds from 1.
 */
export interface Projection<S> {
  readonly name: string;
  readonly version: number;
  /** Only events of these aggregates (all when absent). */
  readonly aggregate?: string;
  initial(): S;
  apply(state: S, event: StoredEvent): S;
}

export interface Checkpoint<S> {
  position: number;
  state: S;
}

/** Where a durable projection keeps its state and position together, so neither can run ahead of the other. */
export interface CheckpointStore<S> {
  load(key: string): Promise<Checkpoint<S> | undefined>;
  save(key: string, checkpoint: Checkpoint<S>): Promise<void>;
}

export const projectionKey = (p: { name: string; version: number }) => `${p.name}.v${p.version}`;

/**
 * Runs a projection. Without a checkpoint store the state lives in memory and is rebuilt from position 1 at
 * every start (the default for Parley's queue views). With one, it runs over a durable consumer: each event
 * is applied, the checkpoint saved, then acknowledged; after a crash the redelivered event is skipped by position.
 */
export class ProjectionRunner<S> {
  private current: Checkpoint<S>;
  private following?: Following;
  private consumption?: Consumption;
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(
    private readonly store: EventStore,
    readonly projection: Projection<S>,
    private readonly checkpoints?: CheckpointStore<S>,
  ) {
    this.current = { position: 0, state: projection.initial() };
  }

  get state(): S {
    return this.current.state;
  }

  get position(): number {
    return this.current.position;
  }

  /** Called after each applied event (not for skipped duplicates). */
  onApplied(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.checkpoints) {
      const key = projectionKey(this.projection);
      this.current = (await this.checkpoints.load(key)) ?? this.current;
      const checkpoints = this.checkpoints;
      this.consumption = await this.store.consume(
        { name: `projection-${this.projection.name}-v${this.projection.version}`, aggregate: this.projection.aggregate, fromPosition: this.current.position + 1 },
        async (event) => {
          if (this.applyOne(event)) await checkpoints.save(key, this.current);
        },
      );
      return;
    }
    await this.catchUp();
    this.following = await this.store.follow(
      { fromPosition: this.current.position + 1, aggregate: this.projection.aggregate },
      (event) => void this.applyOne(event),
    );
  }

  /** Reads up to the store's head now: a query answered after this sees every event appended before it. */
  async catchUp(): Promise<void> {
    for await (const event of this.store.readAll({ fromPosition: this.current.position + 1, aggregate: this.projection.aggregate })) {
      this.applyOne(event);
    }
  }

  async stop(): Promise<void> {
    this.following?.stop();
    await this.consumption?.stop();
  }

  private applyOne(event: StoredEvent): boolean {
    if (event.position <= this.current.position) return false;
    this.current = { position: event.position, state: this.projection.apply(this.current.state, event) };
    for (const l of this.listeners) l(event);
    return true;
  }

  /** Builds the projection from position 1 to the current head, independent of any running instance. */
  static async rebuild<S>(store: EventStore, projection: Projection<S>): Promise<Checkpoint<S>> {
    const runner = new ProjectionRunner(store, projection);
    await runner.catchUp();
    return runner.current;
  }
}
