import type { EventStore, Following, StoredEvent } from './event-store.port.js';

/**
 * A read model built from events. `apply` must be pure with respect to the log (it may update the state in
 * place); the runner makes it idempotent by position, so a redelivered event never counts twice. Bump
 * `version` when `apply` changes: the new version has a checkpoint of its own and is rebuilt from position 1.
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

/** Where a projection keeps its state and position together, so neither can run ahead of the other. */
export interface CheckpointStore<S> {
  load(key: string): Promise<Checkpoint<S> | undefined>;
  /** Saves the state as the JSON the runner made of it: serialized once, at the moment its position was read. */
  save(key: string, position: number, stateJson: string): Promise<void>;
}

export const projectionKey = (p: { name: string; version: number }) => `${p.name}.v${p.version}`;

export interface ProjectionRunnerOptions<S> {
  /** Keeps state and position, so a restart resumes where the last checkpoint was instead of at position 1. */
  checkpoints?: CheckpointStore<S>;
  /** How often a changed state is checkpointed. Default 5 s. */
  checkpointEveryMs?: number;
  /** Ignore a stored checkpoint and rebuild from position 1 (an operator's request). */
  rebuild?: boolean;
  /**
   * An event `apply` throws on (a malformed event) is skipped so the read model stays live; this is told. Without
   * it the error is thrown to the caller of the read.
   */
  onApplyError?: (event: StoredEvent, error: unknown) => void;
}

/**
 * Runs a projection in memory over an ordered tail of the store. With a checkpoint store it starts from the last
 * checkpoint (or from position 1 when the projection's version has none) and checkpoints as it goes; `start`
 * resolves once the projection has caught up with the store as it was when it started.
 */
export class ProjectionRunner<S> {
  private current: Checkpoint<S>;
  private following?: Following;
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private readonly waiters: { position: number; resolve: () => void }[] = [];
  private caughtUp = false;
  private timer?: NodeJS.Timeout;
  private saved = 0;
  private saving?: Promise<void>;
  /** Where this run started from: the checkpoint's position, or 0 for a rebuild. */
  startedFrom = 0;

  constructor(
    private readonly store: EventStore,
    readonly projection: Projection<S>,
    private readonly options: ProjectionRunnerOptions<S> | CheckpointStore<S> = {},
  ) {
    this.current = { position: 0, state: projection.initial() };
  }

  private get settings(): ProjectionRunnerOptions<S> {
    return 'load' in this.options ? { checkpoints: this.options } : this.options;
  }

  get state(): S {
    return this.current.state;
  }

  get position(): number {
    return this.current.position;
  }

  /** True once the tail has reached the store's end as it was at start (readiness). */
  get isCaughtUp(): boolean {
    return this.caughtUp;
  }

  /** Called after each applied event (not for skipped duplicates). */
  onApplied(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    const { checkpoints, rebuild, checkpointEveryMs } = this.settings;
    if (checkpoints && !rebuild) {
      const stored = await checkpoints.load(projectionKey(this.projection));
      if (stored) this.current = stored;
    }
    this.startedFrom = this.saved = this.current.position;
    const head = await this.store.headPosition();
    const reached = this.waitFor(head);
    this.following = await this.store.follow({ fromPosition: this.current.position + 1, aggregate: this.projection.aggregate }, (event, pending) => {
      this.applyOne(event);
      // A filtered tail never sees the positions of other aggregates: nothing pending means it is at the end.
      if (pending === 0) this.release(Number.POSITIVE_INFINITY, head);
    });
    if (this.current.position >= head || this.following.pendingAtStart === 0) this.release(Number.POSITIVE_INFINITY, head);
    await reached;
    this.caughtUp = true;
    if (checkpoints) {
      await this.checkpoint();
      this.timer = setInterval(() => void this.checkpoint(), checkpointEveryMs ?? 5_000);
      this.timer.unref?.();
    }
  }

  /**
   * Starts the tail again from the current position: what to do when it stopped pulling (seen after a nats-server
   * restart) while the store went on. Events already applied are skipped by position.
   */
  async restartTail(): Promise<void> {
    if (!this.following) return;
    this.following.stop();
    this.following = await this.store.follow({ fromPosition: this.current.position + 1, aggregate: this.projection.aggregate }, (event) => {
      this.applyOne(event);
    });
  }

  /** Resolves once the projection has applied every event up to `position` (a position an append returned). */
  waitFor(position: number): Promise<void> {
    if (this.current.position >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /** Waits until the projection has every event appended before this call (one request for the store's head). */
  async catchUp(): Promise<void> {
    if (!this.following) {
      // Not running: read up to the head (rebuilds and one-off reads).
      for await (const event of this.store.readAll({ fromPosition: this.current.position + 1, aggregate: this.projection.aggregate })) this.applyOne(event);
      return;
    }
    if (this.projection.aggregate) {
      for await (const event of this.store.readAll({ fromPosition: this.current.position + 1, aggregate: this.projection.aggregate })) this.applyOne(event);
      return;
    }
    await this.waitFor(await this.store.headPosition());
  }

  /** Saves state and position when they changed since the last save. */
  async checkpoint(): Promise<void> {
    const checkpoints = this.settings.checkpoints;
    if (!checkpoints || this.current.position === this.saved) return;
    if (this.saving) return this.saving;
    // The state is serialized now, synchronously, so the saved state and position always belong together; once,
    // as the JSON the store writes (a read model's state runs to hundreds of KB, and this runs every few seconds).
    const position = this.current.position;
    const stateJson = JSON.stringify(this.current.state);
    this.saving = checkpoints
      .save(projectionKey(this.projection), position, stateJson)
      .then(() => {
        this.saved = position;
      })
      .catch(() => undefined)
      .finally(() => (this.saving = undefined));
    return this.saving;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.following?.stop();
    this.following = undefined;
    await this.saving;
    await this.checkpoint();
  }

  private release(position: number, head: number): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.position <= position || (position === Number.POSITIVE_INFINITY && w.position <= head)) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private applyOne(event: StoredEvent): boolean {
    if (event.position <= this.current.position) return false;
    let state: S;
    try {
      state = this.projection.apply(this.current.state, event);
    } catch (err) {
      const onError = this.settings.onApplyError;
      if (!onError) throw err;
      onError(event, err);
      state = this.current.state;
    }
    this.current = { position: event.position, state };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        // A listener's failure must never stop the tail: the read model goes on.
        this.settings.onApplyError?.(event, err);
      }
    }
    if (this.waiters.length > 0) this.release(event.position, 0);
    return true;
  }

  /** Builds the projection from position 1 to the current head, independent of any running instance. */
  static async rebuild<S>(store: EventStore, projection: Projection<S>): Promise<Checkpoint<S>> {
    const runner = new ProjectionRunner(store, projection);
    await runner.catchUp();
    return runner.current;
  }
}
