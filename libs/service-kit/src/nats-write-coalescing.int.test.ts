import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceWrites } from './nats-write-coalescing.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let writes = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  // Count the client's socket writes (nats.js's transport of the pinned version).
  const transport = (nc as unknown as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol.transport;
  const send = transport.send.bind(transport);
  transport.send = (frame) => {
    writes++;
    send(frame);
  };
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe('coalesceWrites', () => {
  it("patches this nats.js version's protocol handler", () => {
    expect(coalesceWrites(nc)).toBe(true);
  });

  it('sends publishes made from many promise continuations in one socket write, in order', async () => {
    const received: string[] = [];
    const sub = nc.subscribe('coalesce.order', { callback: (_err, m) => received.push(m.string()) });
    await nc.flush();
    const before = writes;
    // One publish per promise continuation, as handlers do: unpatched, each await lets nats.js's microtask flush
    // run between two publishes (a hundred writes).
    for (let i = 0; i < 100; i++) {
      await Promise.resolve();
      nc.publish('coalesce.order', String(i));
    }
    await new Promise((r) => setImmediate(r));
    expect(writes - before).toBe(1);
    await nc.flush();
    await new Promise<void>((resolve) => {
      const check = () => (received.length === 100 ? resolve() : setImmediate(check));
      check();
    });
    expect(received).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    sub.unsubscribe();
  });

  it('still flushes at once when the outbound buffer is full', async () => {
    const big = new Uint8Array(64 * 1024);
    const before = writes;
    for (let i = 0; i < 40; i++) nc.publish('coalesce.big', big);
    // Before the deferred flush runs: 2.5 MB exceeds nats.js's pending limit, so some writes already happened.
    expect(writes - before).toBeGreaterThan(0);
    await nc.flush();
  });

  it('leaves a client without those internals alone', () => {
    expect(coalesceWrites({} as NatsConnection)).toBe(false);
  });
});
