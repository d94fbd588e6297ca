/** Where services read the time, injected so tests can move it; deciders get it passed in with each command. */
export interface Clock {
  now(): string;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => new Date().toISOString() };
