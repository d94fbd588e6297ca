import type { DomainEvent } from '@parley/domain';
import { BoundedMap, type Consumption, type EventStore, type ParkedEvent, type StoredEvent } from '@parley/event-store';
import { type ConsumerDefinition, type StreamView, consumerDefinitionOf } from './event-consumer.decorator.js';

interface Known {
  state: unknown;
  position: number;
}

export interface DispatcherOptions {
  /** Stream states kept per view. */
  cacheSize?: number;
  /** Sees every event first (the command handler keeps its states current with it). */
  observe?: (event: StoredEvent) => void;
  /** Told where each needed state came from: memory or a stream read. */
  onState?: (source: 'memory' | 'read') => void;
}

type Handlers = Record<string, (event: DomainEvent, consumed: unknown) => Promise<void>>;

/**
 * Routes a consumer's events to its `@On` handlers with the stream's state before and after each event, kept from
 * the events it consumed: a stream is read only when the state is not known at the event's previous version
 * (a restart, an eviction, a gap). The same for the durable consumers of a service and for unit tests on the
 * in-memory store.
 */
export class EventDispatcher {
  readonly definition: ConsumerDefinition;
  /** A consumer's own states of the streams it follows, per view, bounded (least recently used go first). */
  private readonly states = new Map<StreamView<unknown, DomainEvent>, BoundedMap<string, Known>>();

  constructor(
    private readonly instance: object,
    private readonly store: EventStore,
    private readonly options: DispatcherOptions = {},
  ) {
    const definition = consumerDefinitionOf(instance);
    if (!definition) throw new Error(`${instance.constructor.name} is not an @EventConsumer`);
    this.definition = definition;
  }

  /** The aggregate whose streams it consumes, when all its handlers share one (its durable's filter). */
  get aggregate(): string | undefined {
    const names = new Set(this.definition.routes.map((r) => r.view.aggregate));
    return names.size === 1 ? [...names][0] : undefined;
  }

  /** Drops what is known of a stream (it is read again on its next needed event). */
  forget(aggregate: string, id: string): void {
    for (const states of this.states.values()) states.delete(`${aggregate}.${id}`);
  }

  forgetAll(): void {
    this.states.clear();
  }

  private statesOf(view: StreamView<unknown, DomainEvent>): BoundedMap<string, Known> {
    let states = this.states.get(view);
    if (!states) this.states.set(view, (states = new BoundedMap(this.options.cacheSize ?? 20_000)));
    return states;
  }

  private async around(view: StreamView<unknown, DomainEvent>, event: StoredEvent, needed: boolean): Promise<{ before: unknown; after: unknown } | undefined> {
    const states = this.statesOf(view);
    const key = `${event.aggregate}.${event.aggregateId}`;
    const known = states.get(key);
    const domainEvent = { type: event.type, data: event.data } as DomainEvent;
    // Known at the version this event follows, or the stream's first event: no read needed.
    const base = known && event.previousVersion === known.position ? known.state : event.previousVersion === 0 ? view.initialState() : undefined;
    if (base !== undefined) {
      const after = view.evolve(base, domainEvent, event);
      states.set(key, { state: after, position: event.position });
      if (needed) this.options.onState?.('memory');
      return { before: base, after };
    }
    if (!needed) {
      if (known) states.delete(key);
      return undefined;
    }
    this.options.onState?.('read');
    const { events } = await this.store.readStream({ aggregate: event.aggregate, id: event.aggregateId });
    let before = view.initialState();
    for (const e of events) {
      if (e.position >= event.position) break;
      before = view.evolve(before, { type: e.type, data: e.data } as DomainEvent, e);
    }
    const after = view.evolve(before, domainEvent, event);
    states.set(key, { state: after, position: event.position });
    return { before, after };
  }

  async dispatch(event: StoredEvent): Promise<void> {
    this.options.observe?.(event);
    const routes = this.definition.routes.filter((r) => r.view.aggregate === event.aggregate);
    const views = new Set(routes.map((r) => r.view));
    const around = new Map<StreamView<unknown, DomainEvent>, { before: unknown; after: unknown } | undefined>();
    for (const view of views)
      around.set(
        view,
        await this.around(
          view,
          event,
          routes.some((r) => r.view === view && r.types.includes(event.type)),
        ),
      );
    try {
      for (const route of routes) {
        if (!route.types.includes(event.type)) continue;
        const states = around.get(route.view)!;
        const method = (this.instance as Handlers)[route.method]!;
        await method.call(this.instance, { type: event.type, data: event.data } as DomainEvent, { state: states.after, before: states.before, stored: event });
      }
    } catch (err) {
      // What we hold is ahead of what the handler finished: step each view back to the state before this event, so
      // the retry starts from there without reading the stream (a read per failure is what turned a lost NATS node
      // into a storm of consumer creations); a state not known before is read again on the retry.
      const key = `${event.aggregate}.${event.aggregateId}`;
      for (const [view, states] of around) {
        if (states && event.previousVersion !== undefined) this.statesOf(view).set(key, { state: states.before, position: event.previousVersion });
        else this.statesOf(view).delete(key);
      }
      throw err;
    }
  }
}

/**
 * Runs an `@EventConsumer` over any event store (the in-memory one in unit tests): durable, in order, with
 * parking after `maxAttempts` when given.
 */
export function runConsumer(
  store: EventStore,
  instance: object,
  options: DispatcherOptions & { fromPosition?: number; maxAttempts?: number; park?: (parked: ParkedEvent) => Promise<void> } = {},
): Promise<Consumption> {
  const dispatcher = new EventDispatcher(instance, store, options);
  return store.consume(
    { name: dispatcher.definition.name, aggregate: dispatcher.aggregate, fromPosition: options.fromPosition, maxAttempts: options.maxAttempts, park: options.park, retryDelayMs: () => 1 },
    (event) => dispatcher.dispatch(event),
  );
}
