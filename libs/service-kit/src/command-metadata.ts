import { randomUUID } from 'node:crypto';
import type { CommandContext } from '@parley/event-store';

/** Metadata for a command taken in at `now` by `actor`; the command ID makes retries idempotent. */
export function commandContext(now: string, actor: string, commandId?: string, correlationId?: string): CommandContext {
  const id = commandId ?? randomUUID();
  return { commandId: id, metadata: { correlationId: correlationId ?? id, at: now, actor } };
}
