import { sessionAggregate, sessionIdFromAddress } from '@parley/domain';
import { notFound } from '@parley/errors';

export const sessionStream = (sessionId: string) => sessionAggregate.stream(sessionId);

export function sessionIdOf(address: string): string {
  const id = sessionIdFromAddress(address);
  if (!id) throw notFound('no session at this address', { to: address });
  return id;
}
