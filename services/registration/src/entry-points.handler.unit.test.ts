import type { NatsConnection } from '@nats-io/transport-node';
import type { CenterSettings } from '@parley/center-config';
import { entryPointAggregate } from '@parley/domain';
import { CommandHandler, InMemoryEventStore, LaggingTailStore } from '@parley/event-store';
import { MetricsService, ProjectionSupport, ReadinessChecks, type ServiceConfig } from '@parley/service-kit';
import { describe, expect, it } from 'vitest';
import { EntryPointsHandler } from './entry-points.handler.js';
import { RegistryService } from './registry.service.js';

const NOW = '2026-11-22T10:00:00.000Z';
const ADDRESS = 'support@example.test';

/** One registration instance on the store: its own command handler and its own registry, as a replica has. */
async function instance(store: InMemoryEventStore) {
  const commands = new CommandHandler(store);
  const support = new ProjectionSupport(store, {} as NatsConnection, { CHECKPOINT_INTERVAL_MS: 5_000 } as ServiceConfig, commands, new MetricsService(), new ReadinessChecks());
  const registry = new RegistryService(support);
  await registry.onModuleInit();
  const center = { hoursFor: () => undefined } as unknown as CenterSettings;
  return { commands, registry, handler: new EntryPointsHandler(commands, registry, center) };
}

describe('entry-point lookup', () => {
  it('finds an entry point registered on the other instance a moment ago, before this instance has followed it', async () => {
    const store = new LaggingTailStore();
    const other = await instance(store);
    const here = await instance(store);
    store.hold();
    // Registered through the other instance (its command handler appends; this instance's tail has not seen it).
    await other.commands.handle(
      entryPointAggregate.stream('ep-1'),
      { kind: 'register', registration: { address: ADDRESS, queueId: 'q-1', displayName: null, flowId: null, leaseSeconds: 30 }, now: NOW },
      { commandId: 'register-ep-1', metadata: { correlationId: 'c', at: NOW, actor: 'entrypoint:ep-1' } },
    );
    const answer = here.handler.lookup({ address: ADDRESS } as never, { now: NOW } as never);
    // The tail catches up after the lookup has begun: the lookup waits for it rather than answer "not registered".
    await new Promise((r) => setImmediate(r));
    store.release();
    expect(await answer).toMatchObject({ registered: true, entryPointId: 'ep-1', queueId: 'q-1', open: true });
    await Promise.all([other.registry.onApplicationShutdown(), here.registry.onApplicationShutdown()]);
  });

  it('answers an address no one registered with "not registered" (after one look at the newest entry-point event)', async () => {
    const store = new InMemoryEventStore();
    const here = await instance(store);
    expect(await here.handler.lookup({ address: 'nobody@example.test' } as never, { now: NOW } as never)).toEqual({ registered: false, open: false });
    await here.registry.onApplicationShutdown();
  });
});
