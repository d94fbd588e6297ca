import type { LoggerService } from '@nestjs/common';

/**
 * Runs an async pass one at a time: a request while a pass runs asks for exactly one more pass after it, so a
 * burst of triggers (events, ticks) costs at most two passes and passes never overlap.
 */
export class CoalescingTask {
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly name: string,
    private readonly pass: () => Promise<void>,
    private readonly logger: Pick<LoggerService, 'warn'>,
  ) {}

  /** Also run every `ms`, for what time alone changes (expiries, cadences). */
  every(ms: number): this {
    this.timer = setInterval(() => this.trigger(), ms);
    // Never what keeps a process alive: its owner's connections do, and it stops with them.
    this.timer.unref?.();
    return this;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.logger.warn({ msg: `${this.name} failed; it runs again on the next trigger`, err: String((err as Error)?.stack ?? err) }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No new passes; resolves when the one in hand has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * A pass now and a few shortly after, for a lease seen handed back: a delete is seen on its subject as it is published, possibly before the
 * bucket has stored it (and a read may be served by a replica a moment behind), so a renewal that still finds the
 * lease held tries again within a second rather than at the next tick.
 */
export function renewSoon(task: CoalescingTask, delaysMs: readonly number[] = [50, 200, 500, 1_000]): void {
  task.trigger();
  for (const ms of delaysMs) setTimeout(() => task.trigger(), ms).unref();
}
