import type { Following, ReadAllOptions, StoredEvent } from './event-store.port.js';
import { InMemoryEventStore } from './in-memory-event-store.adapter.js';

/**
 * The in-memory store as a read model whose tail lags behind it sees it (another instance's append not followed
 * yet): while held, what tails follow arrives only at `release`. Counts `readAll` calls, each of which is a
 * consumer made on JetStream. For unit tests of read-your-writes and catching up.
 */
export class LaggingTailStore extends InMemoryEventStore {
  reads = 0;
  private held: (() => void)[] | undefined;

  /** From now on, tails get nothing until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Tails get what was held, in order, and everything after it at once. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const deliver of held) deliver();
  }

  override readAll(options: ReadAllOptions): AsyncIterable<StoredEvent> {
    this.reads++;
    return super.readAll(options);
  }

  override follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following> {
    return super.follow(options, (event, pending) => (this.held ? this.held.push(() => handler(event, pending)) : handler(event, pending)));
  }
}
