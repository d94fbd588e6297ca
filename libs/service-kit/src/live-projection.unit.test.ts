import type { NatsConnection } from '@nats-io/transport-node';
import { CommandHandler, type Following, InMemoryEventStore, type Projection, type ReadAllOptions, type StoredEvent } from '@parley/event-store';
import { eventually } from '@parley/testing';
import { describe, expect, it } from 'vitest';
import { LiveProjection, ProjectionSupport } from './live-projection.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import type { ServiceConfig } from './service-config.js';

/** A store whose tails can go silent (as after a nats-server restart): a tail begun later works. */
class SilencingStore extends InMemoryEventStore {
  private silenced = new Set<number>();
  private tails = 0;

  silenceTails(): void {
    for (let t = 1; t <= this.tails; t++) this.silenced.add(t);
  }

  override follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following> {
    const tail = ++this.tails;
    return super.follow(options, (event, pending) => {
      if (!this.silenced.has(tail)) handler(event, pending);
    });
  }
}

/** Agent IDs, from agent events only (a filtered tail). */
const agents: Projection<string[]> = { name: 'agents-seen', version: 1, aggregate: 'agent', initial: () => [], apply: (s, e) => [...s, e.aggregateId] };

class AgentsSeen extends LiveProjection<string[]> {
  constructor(support: ProjectionSupport) {
    super(support, agents);
  }
}

const at = '2026-11-22T10:00:00.000Z';
const event = (id: string) => ({ id, type: 'AgentLoggedIn', schemaVersion: 1, data: {}, metadata: { correlationId: id, causationId: id, at, actor: 'test' } });

describe('a live projection that follows one aggregate', () => {
  it('is found stalled when its tail goes silent behind that aggregate, and is started again, so fresh() answers', async () => {
    const store = new SilencingStore();
    const readiness = new ReadinessChecks();
    const support = new ProjectionSupport(store, {} as NatsConnection, { CHECKPOINT_INTERVAL_MS: 5_000 } as ServiceConfig, new CommandHandler(store), new MetricsService(), readiness);
    const view = new AgentsSeen(support);
    await view.onModuleInit();
    store.silenceTails();
    await store.append({ aggregate: 'agent', id: 'ada' }, [event('e1')], 'no-stream');
    // Session traffic after it: positions this tail never sees, which must not count as being behind.
    await store.append({ aggregate: 'session', id: 's1' }, [event('e2')], 'no-stream');
    // fresh() waits for the agent event; the watchdog finds the tail stalled (3 s without progress) and begins it again.
    expect(await view.fresh()).toEqual(['ada']);
    // Readiness said so meanwhile, and says ready again at the watchdog's next look (once a second).
    const check = readiness.entries().find(([name]) => name === 'projection:agents-seen')![1];
    await eventually(
      async () => {
        try {
          await check();
          return 'ready';
        } catch (err) {
          return String(err);
        }
      },
      (answer) => answer === 'ready',
      'ready again',
      5_000,
    );
    await view.onApplicationShutdown();
  }, 15_000);
});
