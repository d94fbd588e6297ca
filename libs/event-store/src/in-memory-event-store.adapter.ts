import {
  type AppendResult,
  type ConsumeOptions,
  type Consumption,
  type EventHandler,
  type EventStore,
  type EventToAppend,
  type ExpectedVersion,
  type Following,
  type ReadAllOptions,
  type StoredEvent,
  type StreamId,
  type StreamRead,
  VersionConflictError,
  streamSubject,
} from './event-store.port.js';
import { drainWithin } from './drain-within.js';
import { Upcasters } from './upcasters.js';

/** Rehydrated events are copies, so a caller mutating one cannot change the log (as with a real store). */
const copy = (e: StoredEvent): StoredEvent => structuredClone(e);

/** The event store in memory, for pure unit tests of services. Same semantics as the JetStream adapter. */
export class InMemoryEventStore implements EventStore {
  private readonly log: StoredEvent[] = [];
  private readonly ids = new Map<string, number>();
  private readonly lastBySubject = new Map<string, number>();
  private readonly ackFloors = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly upcasters = new Upcasters()) {}

  async append(stream: StreamId, events: readonly EventToAppend[], expected: ExpectedVersion): Promise<AppendResult> {
    const subject = streamSubject(stream);
    let version = this.lastBySubject.get(subject) ?? 0;
    let expect: number | undefined = expected === 'any' ? undefined : expected === 'no-stream' ? 0 : expected;
    for (const event of events) {
      const duplicate = this.ids.get(event.id);
      if (duplicate !== undefined) {
        expect = duplicate;
        continue;
      }
      if (expect !== undefined && expect !== version) throw new VersionConflictError(stream, expected, version);
      const position = this.log.length + 1;
      this.log.push(structuredClone({ ...event, aggregate: stream.aggregate, aggregateId: stream.id, position, previousVersion: version }));
      this.ids.set(event.id, position);
      this.lastBySubject.set(subject, position);
      version = position;
      expect = position;
    }
    for (const wake of this.listeners) wake();
    return { version: expect ?? version };
  }

  async readStream(stream: StreamId): Promise<StreamRead> {
    const subject = streamSubject(stream);
    const events = this.log.filter((e) => e.aggregate === stream.aggregate && e.aggregateId === stream.id).map((e) => this.upcasters.apply(copy(e)));
    return { version: this.lastBySubject.get(subject) ?? 0, events };
  }

  async streamVersion(stream: StreamId): Promise<number> {
    return this.lastBySubject.get(streamSubject(stream)) ?? 0;
  }

  async *readAll(options: ReadAllOptions): AsyncIterable<StoredEvent> {
    const head = this.log.length;
    for (let p = Math.max(1, options.fromPosition); p <= head; p++) {
      const e = this.log[p - 1]!;
      if (!options.aggregate || e.aggregate === options.aggregate) yield this.upcasters.apply(copy(e));
    }
  }

  async headPosition(): Promise<number> {
    return this.log.length;
  }

  async consume(options: ConsumeOptions, handler: EventHandler): Promise<Consumption> {
    if (!this.ackFloors.has(options.name)) this.ackFloors.set(options.name, Math.max(0, (options.fromPosition ?? 1) - 1));
    let running = true;
    let killed = false;
    const attempts = new Map<number, number>();
    let wake: (() => void) | undefined;
    const listener = () => wake?.();
    this.listeners.add(listener);
    const loop = (async () => {
      while (running) {
        const floor = this.ackFloors.get(options.name)!;
        const next = this.log.slice(floor).find((e) => !options.aggregate || e.aggregate === options.aggregate);
        if (!next) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const event = this.upcasters.apply(copy(next));
        const failures = (attempts.get(next.position) ?? 0) + 1;
        try {
          await handler(event);
          if (killed) return;
          this.ackFloors.set(options.name, next.position);
        } catch (err) {
          if (killed) return;
          attempts.set(next.position, failures);
          if (options.park && options.maxAttempts !== undefined && failures >= options.maxAttempts) {
            await options.park({ consumer: options.name, event, error: String((err as Error)?.stack ?? err), attempts: failures, parkedAt: new Date().toISOString() });
            this.ackFloors.set(options.name, next.position);
            continue;
          }
          await new Promise((r) => setTimeout(r, options.retryDelayMs?.(failures) ?? 10));
        }
      }
    })();
    return {
      ended: new Promise<never>(() => undefined),
      stop: async (stopOptions) => {
        running = false;
        wake?.();
        const drained = await drainWithin(loop, stopOptions?.drainMs);
        if (!drained) killed = true;
        this.listeners.delete(listener);
      },
      kill: () => {
        running = false;
        killed = true;
        wake?.();
        this.listeners.delete(listener);
      },
    };
  }

  async follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following> {
    let next = Math.max(1, options.fromPosition);
    const drain = () => {
      while (next <= this.log.length) {
        const e = this.log[next - 1]!;
        next++;
        if (!options.aggregate || e.aggregate === options.aggregate) {
          const pending = this.log.slice(next - 1).filter((x) => !options.aggregate || x.aggregate === options.aggregate).length;
          handler(this.upcasters.apply(copy(e)), pending);
        }
      }
    };
    const pendingAtStart = this.log.slice(next - 1).filter((x) => !options.aggregate || x.aggregate === options.aggregate).length;
    this.listeners.add(drain);
    queueMicrotask(drain);
    return { stop: () => void this.listeners.delete(drain), pendingAtStart };
  }
}
