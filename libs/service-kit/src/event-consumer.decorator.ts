import type { Aggregate, DomainEvent } from '@parley/domain';
import type { StoredEvent } from '@parley/event-store';

/**
 * What a consumer keeps of each stream it follows: its own fold of the stream's events (by default the
 * aggregate's state), so a handler gets the state right after its event without reading the stream.
 */
export interface StreamView<S, E extends DomainEvent> {
  /** The aggregate whose streams this folds (`session`, `agent`, ...). */
  readonly aggregate: string;
  initialState(): S;
  evolve(state: S, event: E, stored: StoredEvent): S;
}

/** An aggregate's own state as the view: what most process managers need. */
export function stateOf<S, C, E extends DomainEvent>(aggregate: Aggregate<S, C, E>): StreamView<S, E> {
  return { aggregate: aggregate.name, initialState: () => aggregate.decider.initialState(), evolve: (s, e) => aggregate.decider.evolve(s, e) };
}

/** What a handler gets beside its (narrowed) event. */
export interface Consumed<S> {
  /** The stream's state right after this event, from the events this consumer has taken in. */
  state: S;
  /** The state just before it. */
  before: S;
  stored: StoredEvent;
}

export type EventHandlerOf<S, E extends DomainEvent, T extends E['type']> = (event: Extract<E, { type: T }>, consumed: Consumed<S>) => Promise<void>;

export interface EventRoute {
  view: StreamView<unknown, DomainEvent>;
  types: readonly string[];
  method: string;
}

export interface ConsumerDefinition {
  /** Durable name (prefixed by nothing: names are unique across services by convention `<service>-<role>`). */
  name: string;
  /** The class that declares it (for the events × consumers table). */
  owner: string;
  routes: EventRoute[];
}

const ROUTES = Symbol('parley:event-routes');
const CONSUMER = Symbol('parley:event-consumer');

/** Every consumer declared in the processes loaded so far: the source of the events × consumers table. */
export const DECLARED_CONSUMERS: ConsumerDefinition[] = [];

/**
 * Declares a class as one durable event consumer: its `@On` methods are its handlers. Events of one stream are
 * handled in order; different streams concurrently; an event that keeps failing is parked.
 */
export function EventConsumer(name: string): ClassDecorator {
  return (target) => {
    const routes = ((target.prototype as Record<symbol, EventRoute[]>)[ROUTES] ?? []).slice();
    const definition: ConsumerDefinition = { name, owner: target.name, routes };
    Reflect.defineMetadata(CONSUMER, definition, target);
    if (!DECLARED_CONSUMERS.some((d) => d.name === name)) DECLARED_CONSUMERS.push(definition);
  };
}

/** The consumer a class declares, if any. */
export const consumerDefinitionOf = (target: object): ConsumerDefinition | undefined =>
  Reflect.getMetadata(CONSUMER, (target as { constructor: object }).constructor) as ConsumerDefinition | undefined;

/**
 * Routes the named event types of a stream view's aggregate to the method; the method's event argument is typed
 * as exactly those events.
 */
export function On<S, E extends DomainEvent, T extends E['type']>(view: StreamView<S, E>, ...types: T[]) {
  return (target: object, method: string | symbol, _descriptor: TypedPropertyDescriptor<EventHandlerOf<S, E, T>>): void => {
    const proto = target as Record<symbol, EventRoute[]>;
    const own = Object.prototype.hasOwnProperty.call(proto, ROUTES) ? proto[ROUTES]! : (proto[ROUTES] = []);
    own.push({ view: view as unknown as StreamView<unknown, DomainEvent>, types, method: String(method) });
  };
}

/** Rows of the events × consumers table (`| aggregate | event | service | consumer | handler |`), sorted. */
export function consumerTableRows(service: string, definitions: readonly ConsumerDefinition[] = DECLARED_CONSUMERS): string[] {
  const rows: string[] = [];
  for (const d of definitions) {
    for (const route of d.routes) {
      for (const type of route.types) rows.push(`| ${route.view.aggregate} | \`${type}\` | ${service} | \`${d.name}\` | \`${d.owner}.${route.method}\` |`);
    }
  }
  return rows.sort();
}

export const CONSUMER_TABLE_BEGIN = '<!-- events-x-consumers:begin (generated: node scripts/consumer-table.mjs) -->';
export const CONSUMER_TABLE_END = '<!-- events-x-consumers:end -->';

/** The rows of the table as the document has them, for one service, with the formatter's column padding removed. */
export function documentedConsumerRows(markdown: string, service: string): string[] {
  const begin = markdown.indexOf(CONSUMER_TABLE_BEGIN);
  const end = markdown.indexOf(CONSUMER_TABLE_END);
  if (begin < 0 || end < begin) return [];
  return markdown
    .slice(begin, end)
    .split('\n')
    .filter((line) => line.startsWith('| ') && line.split('|')[3]?.trim() === service)
    .map(
      (line) =>
        `| ${line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim())
          .join(' | ')} |`,
    )
    .sort();
}
