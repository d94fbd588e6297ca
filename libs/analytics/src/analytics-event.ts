/** A stored event as analytics reads it: the contract's wire shape plus its position and aggregate. */
export interface AnalyticsEvent {
  position: number;
  aggregate: string;
  aggregateId: string;
  id: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: { at: string; actor?: string; correlationId?: string; causationId?: string };
}

/** The aggregate of a subject `parley.v1.evt.<aggregate>.<id>` (null for any other subject). */
const PREFIX = 'parley.v1.evt.';
export function aggregateOfSubject(subject: string): string | null {
  if (!subject.startsWith(PREFIX)) return null;
  const end = subject.indexOf('.', PREFIX.length);
  return end < 0 ? null : subject.slice(PREFIX.length, end);
}

/** Decodes one message of `PARLEY_EVENTS` (payload JSON, subject, stream sequence); the parsed object is reused. */
export function decodeEvent(subject: string, position: number, payload: string): AnalyticsEvent {
  const e = JSON.parse(payload) as AnalyticsEvent;
  e.position = position;
  e.aggregate = aggregateOfSubject(subject) ?? 'unknown';
  return e;
}

/** The instant an event happened: its own `at` when it has one, else the decision's instant from the metadata. */
export function eventInstant(e: AnalyticsEvent): string {
  const at = (e.data as { at?: unknown } | null)?.at;
  return typeof at === 'string' ? at : e.metadata.at;
}
