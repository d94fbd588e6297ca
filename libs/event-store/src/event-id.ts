import { createHash, randomUUID } from 'node:crypto';

/**
 * Event IDs derived from the command that caused them make a retried command write nothing new: the store
 * deduplicates by event ID. Formatted as a UUID (v8, name-based) so it reads like any other ID.
 */
export function deriveEventId(commandId: string, streamKey: string, index: number): string {
  const h = createHash('sha256').update(`${commandId}\u0000${streamKey}\u0000${index}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const newEventId = (): string => randomUUID();
