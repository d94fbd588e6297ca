import { jetstreamManager } from '@nats-io/jetstream';
import { AuthorizationError, type NatsConnection, PermissionViolationError, RequestError, connect } from '@nats-io/transport-node';
import { DELIVERY_STREAM, SUBJECTS, asActorSubject } from '@parley/contracts';
import { NATS_CONFIG_DIR, type ProcessOutcome, runNode } from '@parley/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

// Each integrator role made from infra/nats/templates, as an operator adds it to users.conf.
const ROLES = [
  { name: 'gw_cli', template: 'channel-gateway', values: { CHANNEL: 'cli' } },
  { name: 'gw_sms', template: 'channel-gateway', values: { CHANNEL: 'sms' } },
  { name: 'bot_a', template: 'bot', values: { BOT: 'bot-a' } },
  { name: 'desk', template: 'desktop-bridge', values: { BRIDGE: 'desk', AGENT_1: 'human-1' } },
  { name: 'ann', template: 'analyst', values: { ANALYST: 'ann' } },
] as const;
type RoleName = (typeof ROLES)[number]['name'];

let stack: ParleyStack;
const as: Partial<Record<RoleName, NatsConnection>> = {};
const ENTRY = { entryPointId: 'ep-perm', address: 'support@perm.test', queueId: 'support', leaseSeconds: 3600 };
const login = (agentId: string) => ({ agentId, displayName: agentId, kind: 'bot', skills: {}, languages: ['en'], capabilities: ['text'], queues: ['no-customers-here'], leaseSeconds: 600 });
let waiting: { sessionId: string; sessionAddress: string };

beforeAll(async () => {
  // Statuses to the waiting customer are deliveries the stack makes on its own: only the first is let through, and
  // it is waited for below, so that "changes nothing" compares stores nothing else is writing to.
  stack = await ParleyStack.start({ STATUS_INTERVAL_SECONDS: '3600' }, { roles: ROLES.map((r) => ({ ...r, values: { ...r.values } })) });
  for (const r of ROLES) as[r.name] = await connect(stack.nats.connectOptions(r.name));
  expect(await stack.request(SUBJECTS.registrationRegister, ENTRY)).toMatchObject({ entryPointId: ENTRY.entryPointId });
  // A customer of channel cli waits (no agent is logged in for the queue yet).
  waiting = await request<{ sessionId: string; sessionAddress: string }>('gw_cli', asActorSubject(SUBJECTS.imSubscribe, 'cli'), { channel: 'cli', from: 'carol@cli.test', to: ENTRY.address });
  expect(waiting).toMatchObject({ status: 'available' });
  const customers = await stack.customerInbox('cli');
  await customers.waitFor((d) => d.kind === 'status' && d.sessionId === waiting.sessionId, "carol's first queue status");
});

afterAll(async () => {
  for (const nc of Object.values(as)) await nc?.close();
  await stack?.stop();
});

const PARLEY = fileURLToPath(new URL('../../tools/parley-cli/bin/parley.mjs', import.meta.url));

/** The parley CLI in its own process, connected as `role` (its nkey seed and inbox prefix). */
function parleyAs(role: RoleName, args: string[]): Promise<ProcessOutcome> {
  return runNode(PARLEY, args, { ...stack.nats.serviceEnv(role), NATS_INBOX_PREFIX: stack.nats.credentials(role).inboxPrefix });
}

async function request<T = Record<string, unknown>>(role: RoleName, subject: string, payload: unknown): Promise<T> {
  return (await as[role]!.request(subject, JSON.stringify(payload), { timeout: 5_000 })).json<T>();
}

/** The server refuses the publish outright: the request never reaches a service. */
async function refusedByNats(role: RoleName, subject: string, payload: unknown = {}): Promise<void> {
  const err = await as[role]!.request(subject, JSON.stringify(payload), { timeout: 5_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${role} → ${subject}`).toBeInstanceOf(RequestError);
  expect((err as RequestError).cause, `${role} → ${subject}`).toBeInstanceOf(PermissionViolationError);
}

/** Everything the stores hold, to show a refused attempt changed nothing. */
async function snapshot() {
  const jsm = await jetstreamManager(stack.nc);
  const [events, deliveries] = await Promise.all([jsm.streams.info('PARLEY_EVENTS'), jsm.streams.info(DELIVERY_STREAM)]);
  return { events: events.state.last_seq, deliveries: deliveries.state.last_seq };
}

describe('least privilege over NATS (issue 11: each attempt is refused and changes nothing)', () => {
  it('refuses a client without credentials at connect', async () => {
    await expect(connect({ servers: stack.nats.url, maxReconnectAttempts: 0 })).rejects.toBeInstanceOf(AuthorizationError);
  });

  it("a bot acts only as its own agent ID: other agents' subjects are refused by NATS, another agentId by the service", async () => {
    expect(await request('bot_a', asActorSubject(SUBJECTS.agentLogin, 'bot-a'), login('bot-a'))).toMatchObject({ agentId: 'bot-a' });
    const before = await snapshot();
    await refusedByNats('bot_a', SUBJECTS.agentLogin, login('human-1'));
    await refusedByNats('bot_a', asActorSubject(SUBJECTS.agentLogin, 'human-1'), login('human-1'));
    await refusedByNats('bot_a', asActorSubject(SUBJECTS.agentState, 'human-1'), { agentId: 'human-1', state: 'offline' });
    expect(await request('bot_a', asActorSubject(SUBJECTS.agentLogin, 'bot-a'), login('human-1'))).toMatchObject({ error: { code: 'forbidden' } });
    expect(await request('bot_a', asActorSubject(SUBJECTS.agentState, 'bot-a'), { agentId: 'human-1', state: 'available' })).toMatchObject({ error: { code: 'forbidden' } });
    expect(await snapshot()).toEqual(before);
    expect((await stack.store.readStream({ aggregate: 'agent', id: 'human-1' })).events).toEqual([]);
  });

  it('a desktop bridge acts for its agents and no other', async () => {
    expect(await request('desk', asActorSubject(SUBJECTS.agentLogin, 'human-1'), { ...login('human-1'), kind: 'human' })).toMatchObject({ agentId: 'human-1' });
    const before = await snapshot();
    await refusedByNats('desk', asActorSubject(SUBJECTS.agentState, 'bot-a'), { agentId: 'bot-a', state: 'offline' });
    await refusedByNats('desk', SUBJECTS.agentOfferAccept, { agentId: 'bot-a', offerId: 'o1' });
    expect(await request('desk', asActorSubject(SUBJECTS.agentOfferAccept, 'human-1'), { agentId: 'bot-a', offerId: 'o1' })).toMatchObject({ error: { code: 'forbidden' } });
    expect(await snapshot()).toEqual(before);
  });

  it("a channel gateway acts only for its channel's customers", async () => {
    const before = await snapshot();
    await refusedByNats('gw_sms', SUBJECTS.imSubscribe, { channel: 'cli', from: 'mallory@cli.test', to: ENTRY.address });
    await refusedByNats('gw_sms', asActorSubject(SUBJECTS.imMessage, 'cli'), { messageId: 'm1', channel: 'cli', from: 'carol@cli.test', to: waiting.sessionAddress, body: 'not carol' });
    expect(
      await request('gw_sms', asActorSubject(SUBJECTS.imMessage, 'sms'), { messageId: 'm1', channel: 'cli', from: 'carol@cli.test', to: waiting.sessionAddress, body: 'not carol' }),
    ).toMatchObject({ error: { code: 'forbidden' } });
    expect(await request('gw_sms', asActorSubject(SUBJECTS.imUnsubscribe, 'sms'), { channel: 'cli', from: 'carol@cli.test', to: waiting.sessionAddress })).toMatchObject({
      error: { code: 'forbidden' },
    });
    expect(await snapshot()).toEqual(before);
  });

  it("no role but its own reads deliveries: no subscription, no consumer on another channel or agent, no pulling from another's consumer", async () => {
    for (const role of ['gw_sms', 'bot_a', 'desk', 'ann'] as const) {
      for (const subject of ['parley.v1.im.deliver.>', 'parley.v1.agent.deliver.>', 'parley.v1.im.deliver.cli', 'parley.v1.evt.>']) {
        const sub = as[role]!.subscribe(subject);
        await expect(sub.closed, `${role} subscribes ${subject}`).resolves.toBeInstanceOf(PermissionViolationError);
      }
    }
    const jsm = await jetstreamManager(as.gw_cli!);
    await jsm.consumers.add(DELIVERY_STREAM, { durable_name: 'gw-cli', filter_subject: 'parley.v1.im.deliver.cli', ack_policy: 'explicit' as never });
    const other = await jetstreamManager(as.gw_sms!);
    await expect(other.consumers.add(DELIVERY_STREAM, { durable_name: 'gw-sms', filter_subject: 'parley.v1.im.deliver.cli', ack_policy: 'explicit' as never })).rejects.toBeInstanceOf(RequestError);
    // The permitted create subject with another channel's filter in the body: the server refuses the mismatch.
    const raw = await request('gw_sms', '$JS.API.CONSUMER.CREATE.PARLEY_DELIVERIES.gw-sms.parley.v1.im.deliver.sms', {
      stream_name: DELIVERY_STREAM,
      config: { name: 'gw-sms', durable_name: 'gw-sms', filter_subject: 'parley.v1.im.deliver.cli', ack_policy: 'explicit' },
    });
    expect(raw).toMatchObject({ error: { err_code: 10131 } });
    await refusedByNats('gw_sms', '$JS.API.CONSUMER.MSG.NEXT.PARLEY_DELIVERIES.gw-cli', { batch: 1 });
    await refusedByNats('bot_a', '$JS.API.CONSUMER.CREATE.PARLEY_DELIVERIES');
    // Message bodies live on PARLEY_EVENTS: no gateway, bot or bridge may read it.
    for (const role of ['gw_cli', 'bot_a', 'desk'] as const) {
      await refusedByNats(role, '$JS.API.CONSUMER.CREATE.PARLEY_EVENTS.x.parley.v1.evt.>', { stream_name: 'PARLEY_EVENTS', config: { name: 'x', filter_subject: 'parley.v1.evt.>' } });
      await refusedByNats(role, '$JS.API.STREAM.MSG.GET.PARLEY_EVENTS', { seq: 1 });
    }
    expect((await jsm.consumers.info(DELIVERY_STREAM, 'gw-cli')).config.filter_subject).toBe('parley.v1.im.deliver.cli');
    await expect(jetstreamManager(stack.nc).then((m) => m.consumers.info(DELIVERY_STREAM, 'gw-sms'))).rejects.toThrow();
  });

  it('no integrator reaches internal subjects; the projection names no customer even for operators', async () => {
    for (const role of ['gw_cli', 'bot_a', 'desk', 'ann'] as const) {
      await refusedByNats(role, SUBJECTS.reportingProjection, {});
      await refusedByNats(role, SUBJECTS.bufferStatus, { sessionId: waiting.sessionId, statusId: 'fake-status', position: 0, estimatedWaitSeconds: 0 });
    }
    const projection = await stack.request<{ state: unknown }>(SUBJECTS.reportingProjection, {});
    expect(JSON.stringify(projection.state)).toContain(waiting.sessionId);
    expect(JSON.stringify(projection.state)).not.toContain('carol@cli.test');
    const replay = await jetstreamManager(stack.nc).then((m) => m.streams.get(DELIVERY_STREAM));
    const last = await replay.getMessage({ last_by_subj: 'parley.v1.im.deliver.cli' }).catch(() => null);
    expect(last?.json<{ deliveryId: string }>().deliveryId ?? '').not.toBe('fake-status');
  });

  it('nobody but admin deletes, purges or reconfigures a stream', async () => {
    const before = await snapshot();
    for (const role of ['gw_cli', 'bot_a', 'desk', 'ann'] as const) {
      for (const op of ['DELETE', 'PURGE', 'UPDATE']) {
        for (const stream of ['PARLEY_EVENTS', DELIVERY_STREAM]) await refusedByNats(role, `$JS.API.STREAM.${op}.${stream}`, {});
      }
    }
    expect(await snapshot()).toEqual(before);
    // Services: no block but ADMIN grants DELETE or PURGE of anything.
    const perms = readFileSync(join(NATS_CONFIG_DIR, 'permissions.conf'), 'utf8');
    expect(perms).not.toMatch(/STREAM\.(DELETE|PURGE)|CONSUMER\.DELETE\.PARLEY_DELIVERIES\.>|"\$JS\.API\.>"/);
  });

  it('an analyst reads events and deliveries through the parley CLI, and writes nothing', async () => {
    const jsm = await jetstreamManager(stack.nc);
    const consumersOf = async (stream: string) => (await jsm.consumers.list(stream).next()).map((c) => c.name).sort();
    const consumersBefore = { events: await consumersOf('PARLEY_EVENTS'), deliveries: await consumersOf(DELIVERY_STREAM) };
    const before = await snapshot();
    // The CLI's read path, as the analyst: every stored event, in order (by the streams' get API: no consumer).
    const events = await parleyAs('ann', ['events', '--quiet']);
    expect(events.stderr).toBe('');
    expect(events.code).toBe(0);
    const read = events.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { position: number }).position);
    const stored: number[] = [];
    for await (const e of stack.store.readAll({ fromPosition: 1 })) stored.push(e.position);
    expect(read.slice(0, stored.length)).toEqual(stored);
    // The deliveries too: the status told to the waiting customer (carol) is read and counted.
    const estimates = await until(async () => {
      const r = await parleyAs('ann', ['estimates', '--quiet']);
      return r.code === 0 ? r : undefined;
    }, 'parley estimates, as the analyst, to find the status told to carol');
    expect(estimates.stdout).toMatch(/estimates told\s+[1-9]/);

    // And nothing that writes: no event, no consumer of any kind (a consumer names the subject the server delivers
    // to, so it could push events onto a service's subject), no stream change, no service request.
    await refusedByNats('ann', 'parley.v1.evt.session.forged', { type: 'SessionEnded' });
    await refusedByNats('ann', '$JS.API.CONSUMER.DURABLE.CREATE.PARLEY_EVENTS.analyst-ann', { stream_name: 'PARLEY_EVENTS', config: { durable_name: 'analyst-ann', ack_policy: 'none' } });
    await refusedByNats('ann', '$JS.API.CONSUMER.CREATE.PARLEY_EVENTS.analyst-ann', { stream_name: 'PARLEY_EVENTS', config: { durable_name: 'analyst-ann', ack_policy: 'none' } });
    await refusedByNats('ann', '$JS.API.CONSUMER.CREATE.PARLEY_EVENTS', { stream_name: 'PARLEY_EVENTS', config: { ack_policy: 'none', deliver_subject: SUBJECTS.agentLogin } });
    await refusedByNats('ann', `$JS.API.CONSUMER.CREATE.${DELIVERY_STREAM}`, { stream_name: DELIVERY_STREAM, config: { ack_policy: 'none' } });
    await refusedByNats('ann', '$JS.API.CONSUMER.MSG.NEXT.PARLEY_EVENTS.buffer-deliveries', { batch: 1 });
    await refusedByNats('ann', '$JS.API.CONSUMER.DELETE.PARLEY_EVENTS.buffer-deliveries');
    await refusedByNats('ann', '$JS.API.STREAM.DELETE.PARLEY_EVENTS');
    await refusedByNats('ann', '$JS.API.STREAM.PURGE.PARLEY_EVENTS');
    await refusedByNats('ann', `$JS.API.STREAM.PURGE.${DELIVERY_STREAM}`);
    await refusedByNats('ann', '$JS.API.STREAM.MSG.DELETE.PARLEY_EVENTS', { seq: 1 });
    await refusedByNats('ann', '$JS.API.STREAM.UPDATE.PARLEY_EVENTS', { name: 'PARLEY_EVENTS' });
    await refusedByNats('ann', SUBJECTS.imSubscribe, { channel: 'cli', from: 'x@cli.test', to: ENTRY.address });
    await refusedByNats('ann', SUBJECTS.agentLogin, login('ann'));
    await refusedByNats('ann', SUBJECTS.statsQueues, {});
    expect(await snapshot()).toEqual(before);
    expect({ events: await consumersOf('PARLEY_EVENTS'), deliveries: await consumersOf(DELIVERY_STREAM) }).toEqual(consumersBefore);
  });

  it('the parley CLI run by a user who may not read the events says so and exits 1 (no hang, no stack trace)', async () => {
    const r = await parleyAs('gw_cli', ['events', '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^parley events: (cannot|not allowed to) read stream PARLEY_EVENTS.*Permissions Violation/);
  });

  it('only reporting may send buffer.status and only buffer answers it; only buffer, router and presence-proxy publish deliveries', () => {
    const perms = readFileSync(join(NATS_CONFIG_DIR, 'permissions.conf'), 'utf8');
    const blocks = Object.fromEntries([...perms.matchAll(/^(\w+) = \{\n([\s\S]*?)^\}/gm)].map((m) => [m[1]!, m[2]!]));
    const grants = (section: 'publish' | 'subscribe', subject: string) =>
      Object.entries(blocks)
        .filter(([name, body]) => name !== 'ADMIN' && (body.split(`${section}:`)[1]?.split('] }')[0] ?? '').includes(`"${subject}"`))
        .map(([name]) => name)
        .sort();
    expect(grants('publish', SUBJECTS.bufferStatus)).toEqual(['SVC_REPORTING']);
    expect(grants('subscribe', SUBJECTS.bufferStatus)).toEqual(['SVC_BUFFER']);
    expect(grants('publish', SUBJECTS.reportingProjection)).toEqual([]);
    expect(grants('publish', 'parley.v1.im.deliver.>')).toEqual(['SVC_BUFFER', 'SVC_PRESENCE_PROXY', 'SVC_ROUTER']);
  });

  it("each Parley service's own user is refused outside its block (a compromised service stays contained)", async () => {
    const attempts: Record<string, [string, unknown][]> = {
      registration: [
        [SUBJECTS.bufferStatus, {}],
        ['parley.v1.im.deliver.cli', {}],
        ['$JS.API.STREAM.DELETE.PARLEY_EVENTS', {}],
        [SUBJECTS.reportingProjection, {}],
      ],
      'presence-proxy': [
        [SUBJECTS.agentLogin, login('x')],
        ['$JS.API.STREAM.PURGE.PARLEY_DELIVERIES', {}],
        ['$KV.parley_router_queues.queue.support', {}],
      ],
      buffer: [
        [SUBJECTS.registrationRegister, ENTRY],
        ['$JS.API.STREAM.DELETE.PARLEY_DELIVERIES', {}],
        ['$KV.parley_customer_sessions.x', {}],
      ],
      router: [
        [SUBJECTS.bufferStatus, {}],
        ['$JS.API.STREAM.DELETE.PARLEY_EVENTS', {}],
        ['$JS.API.STREAM.UPDATE.PARLEY_DELIVERIES', {}],
      ],
      reporting: [
        ['parley.v1.im.deliver.cli', {}],
        [SUBJECTS.imSubscribe, {}],
        ['$JS.API.STREAM.DELETE.PARLEY_EVENTS', {}],
        ['parley.v1.evt.session.forged', {}],
        // Its status lease is its own key of the lease bucket: another service's partition lease is not.
        ['$KV.parley_consumer_leases.buffer-deliveries.p0', {}],
      ],
      // gateway-web reads the events through an ephemeral tail (its screens' read model) but may keep no durable
      // consumer on them, write none, nor change the stream.
      'gateway-web': [
        [SUBJECTS.imSubscribe, {}],
        [asActorSubject(SUBJECTS.imSubscribe, 'cli'), {}],
        [SUBJECTS.bufferStatus, {}],
        ['$JS.API.CONSUMER.DURABLE.CREATE.PARLEY_EVENTS.gw', {}],
        ['$JS.API.STREAM.UPDATE.PARLEY_EVENTS', {}],
        ['parley.v1.evt.session.x', {}],
      ],
      'gateway-xmpp': [
        [SUBJECTS.imMessage, {}],
        [asActorSubject(SUBJECTS.imMessage, 'web'), {}],
        [SUBJECTS.reportingProjection, {}],
        ['$JS.API.CONSUMER.CREATE.PARLEY_EVENTS', {}],
      ],
    };
    const before = await snapshot();
    for (const [service, list] of Object.entries(attempts)) {
      const nc = await connect(stack.nats.connectOptions(service, { name: `probe-as-${service}` }));
      try {
        for (const [subject, payload] of list) {
          const err = await nc.request(subject, JSON.stringify(payload), { timeout: 5_000 }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect((err as RequestError | undefined)?.cause, `${service} → ${subject}`).toBeInstanceOf(PermissionViolationError);
        }
      } finally {
        await nc.close();
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a gateway cannot answer its own message with a reply subject of its choosing (no publishing by the back door)', async () => {
    // gateway-web subscribes to subjects it may also publish to (typing, desk.open): were it allowed to answer what
    // it receives, it could send itself a message whose reply subject is JetStream's API and "answer" it.
    const nc = await connect(stack.nats.connectOptions('gateway-web', { name: 'probe-self-reply' }));
    try {
      const jsm = await jetstreamManager(stack.nc);
      const before = (await jsm.streams.info('PARLEY_EVENTS')).state.messages;
      expect(before).toBeGreaterThan(0);
      const refused = (async () => {
        for await (const status of nc.status()) {
          if (status.type === 'error' && String(status.error).includes('$JS.API.STREAM.PURGE.PARLEY_EVENTS')) return status.error;
        }
      })();
      nc.subscribe('parley.v1.typing.*', { callback: (_err, m) => m.respond('{}') });
      nc.subscribe('parley.v1.desk.open.*', { callback: (_err, m) => m.respond('{}') });
      nc.publish('parley.v1.typing.self', '{}', { reply: '$JS.API.STREAM.PURGE.PARLEY_EVENTS' });
      nc.publish('parley.v1.desk.open.self', '', { reply: '$JS.API.STREAM.PURGE.PARLEY_EVENTS' });
      expect(await refused).toBeInstanceOf(PermissionViolationError);
      expect((await jsm.streams.info('PARLEY_EVENTS')).state.messages).toBe(before);
    } finally {
      await nc.close();
    }
  });

  it('the services run as their own users (each connection is one of them)', async () => {
    const res = await until(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${stack.nats.monitorPort}/connz?auth=true&limit=100`)).json()) as { connections: { name?: string; authorized_user?: string }[] };
      return r.connections.filter((c) => c.name?.startsWith('parley-')).length >= 5 ? r : undefined;
    }, "the services' connections");
    for (const c of res.connections.filter((x) => x.name?.startsWith('parley-'))) expect(c.authorized_user, c.name).toMatch(/^U[A-Z0-9]{55}$/);
  });
});
