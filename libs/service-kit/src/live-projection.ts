import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type NatsConnection } from '@nats-io/transport-node';
import { CommandHandler, type CheckpointStore, type EventStore, KvCheckpointStore, type Projection, ProjectionRunner } from '@parley/event-store';
import { CoalescingTask } from './coalescing-task.js';
import { MetricsService } from './metrics.service.js';
import { type ServiceConfig, streamDurability } from './service-config.js';
import { ReadinessChecks } from './readiness.js';
import { EVENT_STORE, NATS_CONNECTION, SERVICE_CONFIG } from './tokens.js';

/**
 * A projection behind the store that has not moved for this long is stalled (see `LiveProjection.watch`). A tail
 * that works moves within milliseconds of an append; after a lost node the router's view tail stood still until
 * this watchdog started it again, so 10 s here was 10 s without offers (HA rehearsal, docs/benchmarks.md).
 */
const STALL_MS = 3_000;

/** What every live projection of a service shares: the store, the checkpoint bucket, the command handler. */
@Injectable()
export class ProjectionSupport implements OnModuleInit {
  checkpoints!: CheckpointStore<unknown>;

  constructor(
    @Inject(EVENT_STORE) readonly store: EventStore,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_CONFIG) readonly config: ServiceConfig,
    readonly commands: CommandHandler,
    readonly metrics: MetricsService,
    readonly readiness: ReadinessChecks,
  ) {}

  async onModuleInit(): Promise<void> {
    this.checkpoints = await KvCheckpointStore.create(this.nc, undefined, streamDurability(this.config));
  }
}

/**
 * A projection a service keeps in memory, checkpointed (state and position) so a restart resumes from the last
 * checkpoint instead of position 1; a new projection version rebuilds from 1. The module is initialized only
 * once the projection has caught up, so readiness means caught up.
 */
export abstract class LiveProjection<S> implements OnModuleInit, OnApplicationShutdown {
  readonly runner: ProjectionRunner<S>;
  private readonly logger: Logger;

  protected constructor(
    private readonly support: ProjectionSupport,
    projection: Projection<S>,
  ) {
    this.logger = new Logger(`Projection:${projection.name}`);
    this.runner = new ProjectionRunner(support.store, projection, {
      get checkpoints() {
        return support.checkpoints as CheckpointStore<S>;
      },
      checkpointEveryMs: support.config.CHECKPOINT_INTERVAL_MS,
      onApplyError: (event, err) =>
        this.logger.error({
          msg: 'projection skipped an event it cannot apply',
          projection: projection.name,
          eventId: event.id,
          type: event.type,
          position: event.position,
          err: String((err as Error)?.message ?? err),
        }),
    });
    // Events seen here keep the command handler's states current, so commands on these streams need no read.
    this.runner.onApplied((event) => support.commands.observe(event));
  }

  private watchdog?: CoalescingTask;
  private lastProgress = { position: 0, at: Date.now() };
  private stalled: string | null = null;

  async onModuleInit(): Promise<void> {
    const started = Date.now();
    await this.runner.start();
    this.watch();
    const { name, version } = this.runner.projection;
    this.support.metrics.projectionPosition.set({ projection: name }, this.runner.position);
    this.runner.onApplied((event) => this.support.metrics.projectionPosition.set({ projection: name }, event.position));
    this.logger.log({ msg: 'projection ready', projection: name, version, resumedFrom: this.runner.startedFrom, position: this.runner.position, ms: Date.now() - started });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watchdog?.stop();
    await this.runner.stop();
  }

  /**
   * Readiness tells the truth about the tail: a projection (unfiltered: its position is comparable with the store's
   * head) that is behind the store and has not moved for STALL_MS is stalled; it says so and its tail is started
   * again from where it is, with a log line and a metric, instead of serving stale answers behind a 200.
   */
  private watch(): void {
    const { projection } = this.runner;
    this.support.readiness.register(`projection:${projection.name}`, () => {
      if (this.stalled) throw new Error(this.stalled);
    });
    if (projection.aggregate) return;
    this.lastProgress = { position: this.runner.position, at: Date.now() };
    // One look at a time: during a NATS fault the store's head can take seconds to answer, and looks that overlapped
    // each found the tail stalled and began it again, leaving all but the last new tail running unseen.
    this.watchdog = new CoalescingTask(`projection ${projection.name} watchdog`, () => this.check(), this.logger).every(Math.max(500, Math.floor(STALL_MS / 3)));
  }

  private async check(): Promise<void> {
    const position = this.runner.position;
    if (position !== this.lastProgress.position) {
      this.lastProgress = { position, at: Date.now() };
      this.stalled = null;
      return;
    }
    const head = await this.support.store.headPosition().catch(() => undefined);
    // The store's head unknown (its stream without a leader for now): nothing to decide yet, but the time without
    // progress keeps counting, so that the tail is started again as soon as the head answers (it was counted again
    // from then, which cost seconds more after a lost node).
    // Shutting down meanwhile: no tail begun again now.
    if (head === undefined || this.watchdog?.isStopped) return;
    if (head <= position) {
      this.lastProgress.at = Date.now();
      this.stalled = null;
      return;
    }
    if (Date.now() - this.lastProgress.at < STALL_MS) return;
    const name = this.runner.projection.name;
    this.stalled = `projection ${name} stalled at ${position} while the store is at ${head}`;
    this.logger.warn({ msg: 'projection tail stalled; starting it again', projection: name, position, head });
    this.support.metrics.consumersRecreated.inc({ consumer: `projection-${name}` });
    await this.runner.restartTail().catch((err: unknown) => this.logger.warn({ msg: 'restarting the projection tail failed; retrying', projection: name, err: String(err) }));
    this.lastProgress.at = Date.now();
  }

  /** The state with every event appended before the call (one request for the store's head; no log read). */
  async fresh(): Promise<S> {
    await this.runner.catchUp();
    return this.runner.state;
  }

  /** The state with at least this process's own writes applied (read-your-writes without asking the store). */
  async settled(): Promise<S> {
    const aggregate = this.runner.projection.aggregate;
    await this.runner.waitFor(aggregate ? this.support.commands.lastAppendedPositionOf(aggregate) : this.support.commands.lastAppendedPosition);
    return this.runner.state;
  }
}
