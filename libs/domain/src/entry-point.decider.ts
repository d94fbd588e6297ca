import { defineAggregate } from './aggregate.js';
import { notFound } from '@parley/errors';

export interface EntryPointRegistration {
  address: string;
  queueId: string;
  displayName: string | null;
  flowId: string | null;
  leaseSeconds: number;
}

export type EntryPointState = { status: 'none' } | ({ status: 'registered'; expiresAt: string } & EntryPointRegistration) | { status: 'unregistered'; address: string };

export type EntryPointEvent =
  | { type: 'EntryPointRegistered'; data: EntryPointRegistration & { expiresAt: string; at: string } }
  | { type: 'EntryPointHeartbeatReceived'; data: { expiresAt: string } }
  | { type: 'EntryPointUnregistered'; data: { reason: 'requested' | 'lease-expired'; at: string } };

export type EntryPointCommand =
  { kind: 'register'; registration: EntryPointRegistration; now: string } | { kind: 'heartbeat'; now: string } | { kind: 'unregister'; now: string } | { kind: 'expire-lease'; now: string };

const assertNever = (x: never): never => {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
};
const plusSeconds = (iso: string, s: number) => new Date(Date.parse(iso) + s * 1000).toISOString();

/** Registered means a lease that has not run out: a missed heartbeat needs no event to take effect. */
export function isEntryPointRegistered(state: EntryPointState, now: string): state is Extract<EntryPointState, { status: 'registered' }> {
  return state.status === 'registered' && Date.parse(state.expiresAt) > Date.parse(now);
}

export const entryPointDecider = {
  initialState: (): EntryPointState => ({ status: 'none' }),

  decide(command: EntryPointCommand, state: EntryPointState): EntryPointEvent[] {
    switch (command.kind) {
      case 'register':
        return [
          {
            type: 'EntryPointRegistered',
            data: { ...command.registration, expiresAt: plusSeconds(command.now, command.registration.leaseSeconds), at: command.now },
          },
        ];
      case 'heartbeat':
        if (!isEntryPointRegistered(state, command.now)) throw notFound('entry point is not registered; register it again');
        return [{ type: 'EntryPointHeartbeatReceived', data: { expiresAt: plusSeconds(command.now, state.leaseSeconds) } }];
      case 'unregister':
        if (state.status !== 'registered') return [];
        return [{ type: 'EntryPointUnregistered', data: { reason: 'requested', at: command.now } }];
      case 'expire-lease':
        if (state.status !== 'registered' || isEntryPointRegistered(state, command.now)) return [];
        return [{ type: 'EntryPointUnregistered', data: { reason: 'lease-expired', at: command.now } }];
      default:
        return assertNever(command);
    }
  },

  evolve(state: EntryPointState, event: EntryPointEvent): EntryPointState {
    switch (event.type) {
      case 'EntryPointRegistered': {
        const { at: _at, ...registration } = event.data;
        return { status: 'registered', ...registration };
      }
      case 'EntryPointHeartbeatReceived':
        return state.status === 'registered' ? { ...state, expiresAt: event.data.expiresAt } : state;
      case 'EntryPointUnregistered':
        return state.status === 'registered' ? { status: 'unregistered', address: state.address } : state;
      default:
        return assertNever(event);
    }
  },
};

/** The entry-point aggregate: `parley.v1.evt.entrypoint.<entryPointId>`. */
export const entryPointAggregate = defineAggregate('entrypoint', entryPointDecider);
