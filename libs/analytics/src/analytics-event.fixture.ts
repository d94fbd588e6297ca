import type { AnalyticsEvent } from './analytics-event.js';

let position = 0;

/** Test fixture only (not built): a stored event with the next position, as the event log would number it. */
export const storedEvent = (aggregate: string, aggregateId: string, type: string, data: unknown, at = '2026-11-21T09:00:00.000Z'): AnalyticsEvent => ({
  position: ++position,
  aggregate,
  aggregateId,
  id: `e${position}`,
  type,
  schemaVersion: 1,
  data,
  metadata: { at, actor: 'test' },
});
