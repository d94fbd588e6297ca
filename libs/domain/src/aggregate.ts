/** A domain event as deciders produce it: the type is the discriminant, data the payload. */
export interface DomainEvent {
  readonly type: string;
  readonly data: object;
}

/** One decider per aggregate: pure functions, state as a status union, time inside the command. */
export interface Decider<S, C, E extends DomainEvent> {
  initialState(): S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

/**
 * An aggregate as a value: its name (the stream's aggregate token), its decider, and how an instance's stream is
 * named. Bound once here, so no caller pairs a decider with a stream literal by hand.
 */
export interface Aggregate<S, C, E extends DomainEvent> {
  readonly name: string;
  readonly decider: Decider<S, C, E>;
  /** The stream of one instance of this aggregate. */
  stream(id: string): AggregateStream<S, C, E>;
  /** Narrows a stored event of this aggregate to its domain event. */
  owns(event: { aggregate: string }): boolean;
}

/** One instance's stream, bound to its aggregate: what a command handler loads, decides on and appends to. */
export interface AggregateStream<S, C, E extends DomainEvent> {
  readonly aggregate: Aggregate<S, C, E>;
  readonly id: string;
  /** `<aggregate>.<id>`: the key of caches and locks. */
  readonly key: string;
}

export type StateOf<A> = A extends Aggregate<infer S, unknown, DomainEvent> ? S : never;
export type EventOf<A> = A extends Aggregate<unknown, unknown, infer E> ? E : never;

export function defineAggregate<S, C, E extends DomainEvent>(name: string, decider: Decider<S, C, E>): Aggregate<S, C, E> {
  const aggregate: Aggregate<S, C, E> = {
    name,
    decider,
    stream: (id: string) => ({ aggregate, id, key: `${name}.${id}` }),
    owns: (event) => event.aggregate === name,
  };
  return aggregate;
}

/** Decides each command on the state the previous ones left, as a command handler does in turn: the events and the state after. */
export function decideAll<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, commands: readonly C[], state: S = decider.initialState()): { state: S; events: E[] } {
  const events: E[] = [];
  for (const command of commands) {
    const produced = decider.decide(command, state);
    events.push(...produced);
    state = produced.reduce((s, e) => decider.evolve(s, e), state);
  }
  return { state, events };
}
