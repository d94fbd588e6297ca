import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AnalyticsEvent } from '@parley/analytics';

/**
 * Test and benchmark fixture only (never used by a command): stores events on a PARLEY_EVENTS stream in the
 * contract's wire shape, as the services' event store does, so the commands can be run against them.
 */
export async function storeEvents(nc: NatsConnection, events: Iterable<AnalyticsEvent>, { stream = 'PARLEY_EVENTS', inFlight = 2_000 } = {}): Promise<number> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams
    .add({ name: stream, subjects: ['parley.v1.evt.>'], storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old })
    .catch(async () => jsm.streams.info(stream));
  const js = jetstream(nc);
  const window = new Set<Promise<unknown>>();
  let n = 0;
  for (const e of events) {
    const wire = { id: e.id, type: e.type, schemaVersion: e.schemaVersion, aggregateId: e.aggregateId, data: e.data, metadata: e.metadata };
    const p = js.publish(`parley.v1.evt.${e.aggregate}.${e.aggregateId}`, JSON.stringify(wire)).then(() => window.delete(p));
    window.add(p);
    n++;
    if (window.size >= inFlight) await Promise.race(window);
  }
  await Promise.all(window);
  return n;
}
