import { describe, expect, it } from 'vitest';
import { entryPointDecider, isEntryPointRegistered } from './entry-point.decider.js';

const T0 = '2026-11-21T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();
const registration = { address: 'support@acme.example', queueId: 'q', displayName: null, flowId: null, leaseSeconds: 30 };

describe('entry point decider', () => {
  it('is registered while the lease runs and renews on heartbeats', () => {
    let s = entryPointDecider.decide({ kind: 'register', registration, now: T0 }, entryPointDecider.initialState()).reduce(entryPointDecider.evolve, entryPointDecider.initialState());
    expect(isEntryPointRegistered(s, at(29))).toBe(true);
    expect(isEntryPointRegistered(s, at(30))).toBe(false);
    s = entryPointDecider.decide({ kind: 'heartbeat', now: at(20) }, s).reduce(entryPointDecider.evolve, s);
    expect(isEntryPointRegistered(s, at(49))).toBe(true);
    expect(() => entryPointDecider.decide({ kind: 'heartbeat', now: at(50) }, s)).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(entryPointDecider.decide({ kind: 'expire-lease', now: at(50) }, s)[0]).toMatchObject({ data: { reason: 'lease-expired' } });
    s = entryPointDecider.decide({ kind: 'unregister', now: at(21) }, s).reduce(entryPointDecider.evolve, s);
    expect(s.status).toBe('unregistered');
    expect(entryPointDecider.decide({ kind: 'unregister', now: at(22) }, s)).toEqual([]);
  });
});
