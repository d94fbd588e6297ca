import { type SessionState, sessionDecider, sessionIdFromAddress } from '@parley/domain';
import { notFound } from '@parley/errors';
import { type StoredEvent, foldEvents } from '@parley/event-store';

export const sessionStream = (sessionId: string) => ({ aggregate: 'session', id: sessionId });

export function sessionIdOf(address: string): string {
  const id = sessionIdFromAddress(address);
  if (!id) throw notFound('no session at this address', { to: address });
  return id;
}

/** The session as it stood right after the event at `position`: what a process manager must act on. */
export function stateAt(events: readonly StoredEvent[], position: number): SessionState {
  return foldEvents(sessionDecider, events, position);
}
