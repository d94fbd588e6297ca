// The address claims registration makes before writing a registration (EntryPointAddressesIndex), with the KV on a
// real nats-server and the entry points' streams in the in-memory store; a registration is held between its claim
// and its event (a few ms normally, longer under load) to run a rival registration inside that window. Interleavings
// from a review of the first version, each of which let two entry points both register one address.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { CenterSettings } from '@parley/center-config';
import { entryPointAggregate } from '@parley/domain';
import { toParleyError } from '@parley/errors';
import { CommandHandler, InMemoryEventStore } from '@parley/event-store';
import { ServiceConfig, commandContext, loadConfig } from '@parley/service-kit';
import { type NatsServerHandle, eventually, startNatsServer } from '@parley/testing';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EntryPointAddressesIndex } from './entry-point-addresses.index.js';
import { EntryPointsHandler } from './entry-points.handler.js';
import { type EntryPointRegistry, entryPointRegistryProjection } from './registry.projection.js';
import type { RegistryService } from './registry.service.js';

let nats: NatsServerHandle;
let nc: NatsConnection;
let index: EntryPointAddressesIndex;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  index = new EntryPointAddressesIndex(nc, loadConfig(ServiceConfig, { NATS_URL: nats.url, LOG_LEVEL: 'silent' }));
  await index.onModuleInit();
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

let n = 0;
const uid = (p: string) => `${p}${++n}${Date.now().toString(36)}`;
const at = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00Z') + ms).toISOString();
const ctx = (now: string) => ({ subject: 'test', now }) as never;
const alwaysOpen = { hoursFor: () => undefined } as unknown as CenterSettings;

/** Registration's projection folded from the whole store at each read: it never lags, so only the claims decide. */
const registryOf = (store: InMemoryEventStore) => {
  const build = async (): Promise<EntryPointRegistry> => {
    let state = entryPointRegistryProjection.initial();
    for await (const e of store.readAll({ fromPosition: 1, aggregate: 'entrypoint' })) state = entryPointRegistryProjection.apply(state, e);
    return state;
  };
  return { settled: build, fresh: build } as unknown as RegistryService;
};

/** A handler whose writes to `held`'s stream wait at a gate until `open()`: `arrived` once one is waiting. */
function setup() {
  const store = new InMemoryEventStore();
  const commands = new CommandHandler(store);
  // The service's clock, moved by the test with each request's time (as the request router stamps requests with it).
  const clock = { time: at(0), now: () => clock.time };
  const handler = new EntryPointsHandler(commands, registryOf(store), index, alwaysOpen, clock);
  // Only commands of `kind` wait: a heartbeat or the lease sweeper can still write to the stream meanwhile.
  const gate = { held: '', kind: 'register', arrived: false, open: () => undefined as void };
  const opened = new Promise<void>((r) => (gate.open = r));
  const handle = commands.handle.bind(commands);
  commands.handle = (async (stream: { key: string }, command: { kind: string }, ...rest: unknown[]) => {
    if (gate.held && stream.key.endsWith(gate.held) && command.kind === gate.kind) {
      gate.held = '';
      gate.arrived = true;
      await opened;
    }
    return (handle as (...a: unknown[]) => unknown)(stream, command, ...rest);
  }) as typeof commands.handle;
  const status = async (entryPointId: string) => (await commands.load(entryPointAggregate.stream(entryPointId), { fresh: true })).state.status;
  const register = (entryPointId: string, address: string, now: string, leaseSeconds = 600) => {
    clock.time = now;
    return handler.register({ entryPointId, address, queueId: 'q', leaseSeconds } as never, ctx(now)).then(
      (r) => r.entryPointId,
      (err: unknown) => toParleyError(err).code,
    );
  };
  /** Which entry points hold `address` with a running lease at `now`, from their streams. */
  const holders = async (address: string, now: string, ...ids: string[]) => {
    const states = await Promise.all(ids.map(async (id) => (await commands.load(entryPointAggregate.stream(id), { fresh: true })).state));
    return ids.filter((_, i) => {
      const st = states[i];
      return st.status === 'registered' && st.address === address && Date.parse(st.expiresAt) > Date.parse(now);
    });
  };
  return { handler, commands, clock, gate, status, register, holders };
}

const claimedAndWaiting = (s: ReturnType<typeof setup>) =>
  eventually(
    () => s.gate.arrived,
    (arrived) => arrived,
    'the held command waiting to write',
    5_000,
  );

describe('address claims', () => {
  /**
   * `ep1` registers `address` at `now`, held between its claim and its event, while `ep2` registers it too: `ep2` must
   * get conflict and `ep1` the address.
   */
  async function againstRival(s: ReturnType<typeof setup>, ep1: string, ep2: string, address: string, now: string) {
    s.gate.held = ep1;
    const first = s.register(ep1, address, now);
    await claimedAndWaiting(s);
    expect(await s.register(ep2, address, now)).toBe('conflict');
    s.gate.open();
    expect(await first).toBe(ep1);
    expect([await s.status(ep1), await s.status(ep2)]).toEqual(['registered', 'none']);
  }

  it('hold an address for an entry point registering it again after its lease ran out, against a rival at that moment', async () => {
    const s = setup();
    const address = `${uid('lapsed')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, address, at(0), 5)).toBe(ep1);
    // A minute later ep1's lease has run out.
    await againstRival(s, ep1, ep2, address, at(60_000));
  });

  it('hold an address for an entry point registering it again after unregistering, against a rival at that moment', async () => {
    const s = setup();
    const address = `${uid('again')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, address, at(0))).toBe(ep1);
    await s.handler.unregister({ entryPointId: ep1 } as never, ctx(at(1_000)));
    await againstRival(s, ep1, ep2, address, at(2_000));
  });

  it("give an address to one entry point when the lease sweeper ends the other's lapsed registration between its claim and its write", async () => {
    const s = setup();
    const address = `${uid('swept')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, address, at(0), 5)).toBe(ep1);
    s.gate.held = ep1;
    const first = s.register(ep1, address, at(60_000));
    await claimedAndWaiting(s);
    // The sweeper's tick, as LeaseSweeper issues it: ep1's stream moves past the version its claim names.
    await s.commands.handle(entryPointAggregate.stream(ep1), { kind: 'expire-lease', now: at(60_000) }, commandContext(at(60_000), 'system:registration', `lease-${ep1}`));
    const rival = await s.register(ep2, address, at(60_001));
    s.gate.open();
    expect([await first, rival].sort()).toEqual([ep2, 'conflict'].sort());
    expect(await s.holders(address, at(61_000), ep1, ep2)).toEqual([ep2]);
  });

  it('give an address to one entry point when the other heartbeats between its claim and its write', async () => {
    const s = setup();
    const [a, b] = [`${uid('from')}@support.example.test`, `${uid('to')}@support.example.test`];
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, a, at(0))).toBe(ep1);
    s.gate.held = ep1;
    const move = s.register(ep1, b, at(1_000));
    await claimedAndWaiting(s);
    await s.handler.heartbeat({ entryPointId: ep1 } as never, ctx(at(1_001)));
    const rival = await s.register(ep2, b, at(1_002));
    s.gate.open();
    expect([await move, rival].sort()).toEqual([ep2, 'conflict'].sort());
    expect(await s.holders(b, at(2_000), ep1, ep2)).toEqual([ep2]);
  });

  it('keep an address for a few seconds after its lease ends, for a heartbeat sent just before the end', async () => {
    const s = setup();
    const address = `${uid('edge')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, address, at(0), 5)).toBe(ep1);
    s.gate.held = ep1;
    s.gate.kind = 'heartbeat';
    const heartbeat = s.handler.heartbeat({ entryPointId: ep1 } as never, ctx(at(4_999)));
    await claimedAndWaiting(s);
    expect(await s.register(ep2, address, at(5_001))).toBe('conflict');
    s.gate.open();
    await heartbeat;
    expect(await s.holders(address, at(6_000), ep1, ep2)).toEqual([ep1]);
  });

  it('free an address once its claim is older than the grace and its registration never came', async () => {
    const s = setup();
    const address = `${uid('died')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    // ep1 claims and never writes (its request died between the two).
    s.gate.held = ep1;
    void s.register(ep1, address, at(0));
    await claimedAndWaiting(s);
    expect(await s.register(ep2, address, at(5_000))).toBe('conflict');
    expect(await s.register(ep2, address, at(11_000))).toBe(ep2);
  });

  it("free an entry point's former address once it registers at another, for lookups and for other entry points", async () => {
    const s = setup();
    const [a, b] = [`${uid('from')}@support.example.test`, `${uid('to')}@support.example.test`];
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    expect(await s.register(ep1, a, at(0))).toBe(ep1);
    expect(await s.register(ep1, b, at(1_000))).toBe(ep1);
    expect(await s.handler.lookup({ address: a } as never, ctx(at(2_000)))).toEqual({ registered: false, open: false });
    expect(await s.handler.lookup({ address: b } as never, ctx(at(2_000)))).toMatchObject({ registered: true, entryPointId: ep1 });
    expect(await s.register(ep2, a, at(2_000))).toBe(ep2);
  });

  it('give up a registration held up past half the grace after its claim, so a rival that found the claim stale is alone', async () => {
    const s = setup();
    const address = `${uid('slow')}@support.example.test`;
    const [ep1, ep2] = [uid('ep'), uid('ep')];
    // ep1's request stalls right after its claim (a NATS fault, a stalled projection) for longer than the grace.
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    let claimed = false;
    const claim = index.claim.bind(index);
    index.claim = async (...args: Parameters<typeof index.claim>) => {
      const outcome = await claim(...args);
      if (args[1].entryPointId === ep1) {
        claimed = true;
        await resumed;
      }
      return outcome;
    };
    try {
      const first = s.register(ep1, address, at(0));
      await eventually(
        () => claimed,
        (done) => done,
        "ep1's claim made",
        5_000,
      );
      expect(await s.register(ep2, address, at(10_001))).toBe(ep2);
      resume();
      expect(await first).toBe('unavailable');
      expect(await s.holders(address, at(11_000), ep1, ep2)).toEqual([ep2]);
    } finally {
      index.claim = claim;
    }
  });

  it('answer unavailable, at once, when the index refuses writes for another reason than a rival', async () => {
    const s = setup();
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('KV_parley_entry_point_addresses');
    // The bucket full (in production: JetStream out of storage, a cluster electing a leader).
    await jsm.streams.update('KV_parley_entry_point_addresses', { ...info.config, max_msgs: info.state.messages });
    try {
      expect(await s.register(uid('ep'), `${uid('full')}@support.example.test`, at(0))).toBe('unavailable');
    } finally {
      await jsm.streams.update('KV_parley_entry_point_addresses', { ...info.config });
    }
  });

  it("answer a lookup from the projection while the index does not answer (no 'internal')", async () => {
    const s = setup();
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await nats.pause();
    try {
      expect(await s.handler.lookup({ address: 'nobody@support.example.test' } as never, ctx(at(0)))).toEqual({ registered: false, open: false });
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ msg: 'address index not answering; the lookup answers from the projection' }));
    } finally {
      warn.mockRestore();
      await nats.start();
    }
  });
});
