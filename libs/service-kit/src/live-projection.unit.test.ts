import { Logger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { CommandHandler, type Following, InMemoryEventStore, type Projection, type ReadAllOptions, type StoredEvent } from '@parley/event-store';
import { eventually } from '@parley/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveProjection, ProjectionSupport } from './live-projection.js';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import type { ServiceConfig } from './service-config.js';

/**
 * A store whose tails can go silent (as one did after a nats-server restart; a tail begun later works) and whose
 * head answers only when let (as during a NATS fault, when it takes seconds).
 */
class FaultyStore extends InMemoryEventStore {
  tailsBegun = 0;
  headQueries = 0;
  private readonly silenced = new Set<number>();
  private heldHeads: (() => void)[] | undefined;

  silenceTails(): void {
    for (let t = 1; t <= this.tailsBegun; t++) this.silenced.add(t);
  }

  holdHeads(): void {
    this.heldHeads ??= [];
  }

  releaseHeads(): void {
    const held = this.heldHeads ?? [];
    this.heldHeads = undefined;
    for (const answer of held) answer();
  }

  override async headPosition(): Promise<number> {
    this.headQueries++;
    if (this.heldHeads) await new Promise<void>((r) => this.heldHeads!.push(r));
    return super.headPosition();
  }

  override follow(options: ReadAllOptions, handler: (event: StoredEvent, pending: number) => void): Promise<Following> {
    const tail = ++this.tailsBegun;
    return super.follow(options, (event, pending) => {
      if (!this.silenced.has(tail)) handler(event, pending);
    });
  }
}

const everything: Projection<string[]> = { name: 'everything', version: 1, initial: () => [], apply: (s, e) => [...s, e.id] };

class Everything extends LiveProjection<string[]> {
  constructor(support: ProjectionSupport) {
    super(support, everything);
  }
}

const at = '2026-11-22T10:00:00.000Z';
const event = (id: string) => ({ id, type: 'Seen', schemaVersion: 1, data: {}, metadata: { correlationId: id, causationId: id, at, actor: 'test' } });

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("a live projection's watchdog", () => {
  it('looks one at a time while the store is slow to answer, and begins a silent tail again once', async () => {
    // The clock is moved by hand (the watchdog's ticks stay real): no test waits out the 3 s a stall takes.
    // The stall's warning is what an operator sees: taken here and checked rather than printed amid the test output.
    const warnings = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(at));
    const store = new FaultyStore();
    const view = new Everything(
      new ProjectionSupport(store, {} as NatsConnection, { CHECKPOINT_INTERVAL_MS: 5_000 } as ServiceConfig, new CommandHandler(store), new MetricsService(), new ReadinessChecks()),
    );
    await view.onModuleInit();
    store.headQueries = 0; // the start's own
    store.silenceTails();
    await store.append({ aggregate: 'agent', id: 'ada' }, [event('e1')], 'no-stream');
    store.holdHeads();
    // Three ticks (one every second) while the first look waits for the head: no second look begins.
    await new Promise((r) => setTimeout(r, 3_200));
    expect(store.headQueries).toBe(1);
    vi.setSystemTime(new Date(Date.parse(at) + 10_000));
    store.releaseHeads();
    await eventually(
      () => view.runner.state,
      (state) => state.length === 1,
      'the tail begun again delivered the event',
      5_000,
    );
    // The look that was asked for meanwhile finds the tail moving: the tail was begun again once, not per look.
    await eventually(
      () => store.headQueries,
      (n) => n >= 2,
      'a look after the restart',
      5_000,
    );
    expect(store.tailsBegun).toBe(2);
    expect(warnings.mock.calls.map(([line]) => line)).toEqual([expect.objectContaining({ msg: 'projection tail stalled; starting it again', projection: 'everything', position: 0, head: 1 })]);
    await view.onApplicationShutdown();
  }, 20_000);
});
