import { jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { SUBJECTS, asActorSubject } from '@parley/contracts';
import { type JsonSchema, NASTY_STRINGS, type ServiceHandle, hostileValue, mutatedValue, nest, validValue } from '@parley/testing';
import Ajv from 'ajv';
import fc from 'fast-check';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, SERVICES, until } from './parley-stack.js';

/**
 * Issue 11's fuzz suite: payloads generated from the contracts (docs/asyncapi.yaml, docs/openapi-gateway-web.yaml),
 * valid and hostile, against the real services. Bounded (fixed runs per subject and endpoint) to stay well under
 * two minutes on two cores.
 */
const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 25);
const DOCUMENTED = new Set(['invalid-payload', 'not-found', 'forbidden', 'conflict', 'unavailable', 'rate-limited']);

interface AsyncDoc {
  channels: Record<string, { address: string | null; messages: Record<string, unknown>; parameters?: Record<string, unknown> }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { schemas: Record<string, JsonSchema> };
}
const asyncapi = parse(readFileSync(fileURLToPath(new URL('../../docs/asyncapi.yaml', import.meta.url)), 'utf8')) as AsyncDoc;
const requests = Object.values(asyncapi.operations)
  .filter((o) => o.action === 'receive')
  .map((o) => asyncapi.channels[o.channel.$ref.split('/').at(-1)!]!)
  .map((c) => ({ address: c.address!, schema: asyncapi.components.schemas[Object.keys(c.messages)[0]!]! }));
const ajv = new Ajv();

interface OpenApiDoc {
  paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { content: { 'application/json': { schema: JsonSchema } } }; responses: Record<string, unknown> }>>;
}
const openapi = parse(readFileSync(fileURLToPath(new URL('../../docs/openapi-gateway-web.yaml', import.meta.url)), 'utf8')) as OpenApiDoc;

let stack: ParleyStack;
let web: ServiceHandle;
let base: string;
let users: string;
const secret = randomBytes(32).toString('hex');
const hash = (password: string) => {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${scryptSync(password, salt, 32).toString('base64')}`;
};

beforeAll(async () => {
  users = join(mkdtempSync(join(tmpdir(), 'parley-fuzz-')), 'users.yaml');
  writeFileSync(
    users,
    stringify({
      users: [
        { username: 'alex', passwordHash: hash('alex-pass'), role: 'agent', agent: { agentId: 'fz-alex', displayName: 'Alex', queues: ['support'] } },
        { username: 'sam', passwordHash: hash('sam-pass'), role: 'supervisor' },
      ],
    }),
  );
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '60', ROUTING_TICK_MS: '200' });
  web = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: secret, WEB_USERS_FILE: users });
  base = `http://127.0.0.1:${web.httpPort}`;
});

afterAll(async () => {
  await stack?.stop();
});

const eventsHead = async () => (await (await jetstreamManager(stack.nc)).streams.info('PARLEY_EVENTS')).state.last_seq;

/** A subject for a channel address: its parameters filled with an ID, or with a hostile token. */
const subjectFor = (address: string) =>
  fc
    .oneof({ weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }, { weight: 1, arbitrary: fc.constantFrom('x'.repeat(65), 'a+b', 'é', '%00', '\u202Eevil', '\u{1F600}') })
    .map((token) => address.replace(/\{\w+\}/g, token));

/** Request headers a client may send (services must ignore what they do not know): odd names, values, IDs. */
const headerArb = fc
  .array(
    fc.tuple(
      fc.constantFrom('Nats-Msg-Id', 'Nats-Expected-Last-Sequence', 'X-Parley-Agent', 'Authorization', 'Content-Type', 'x'),
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...NASTY_STRINGS)),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => pairs.filter(([, v]) => !/[\r\n\u0000]/.test(v)));

/** One request as the operators' admin (allowed to publish anything): the reply, or the failure to get one. */
async function ask(subject: string, body: unknown, hdrs: [string, string][] = []): Promise<Record<string, unknown>> {
  const data = typeof body === 'string' ? body : (JSON.stringify(body) ?? 'null');
  const h = headers();
  for (const [k, v] of hdrs) h.append(k, v);
  return (await stack.nc.request(subject, data, { timeout: 5_000, ...(hdrs.length ? { headers: h } : {}) })).json<Record<string, unknown>>();
}

async function allReady(): Promise<void> {
  for (const handle of [...SERVICES.map((s) => stack.service(s)), web]) {
    const res = await fetch(`http://127.0.0.1:${handle.httpPort}/health/ready`);
    expect(res.status, `${handle.name} ready`).toBe(200);
  }
}

describe('fuzzing every request subject of docs/asyncapi.yaml', () => {
  it('answers hostile bodies with invalid-payload, never internal or a timeout, and writes no event for any of them', async () => {
    // First, on a fresh stack where nothing runs in the background: only bodies the contract refuses.
    const before = await eventsHead();
    for (const { address, schema } of requests) {
      await fc.assert(
        fc.asyncProperty(subjectFor(address), fc.oneof(mutatedValue(schema), hostileValue), async (subject, body) => {
          if (ajv.validate(schema as object, body) && !/[^A-Za-z0-9_.*-]/.test(subject.replace(/^parley\.v1\./, ''))) return; // a valid body: phase two
          const reply = await ask(subject, body);
          const error = reply.error as { code?: string } | undefined;
          expect(error?.code, `${subject} ${JSON.stringify(body)?.slice(0, 200)}`).toBe('invalid-payload');
        }),
        { numRuns: RUNS },
      );
    }
    // Bodies that are not JSON objects, or not JSON at all, or not UTF-8.
    for (const { address } of requests) {
      const subject = address.replace(/\{\w+\}/g, 'q1');
      for (const raw of ['', 'null', '[]', '"x"', '{', '{"a":', `${'['.repeat(5_000)}${']'.repeat(5_000)}`, '\u0000']) {
        expect(await ask(subject, raw), `${subject} ${raw.slice(0, 20)}`).toMatchObject({ error: { code: 'invalid-payload' } });
      }
      const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
      expect((await stack.nc.request(subject, bytes, { timeout: 5_000 })).json(), subject).toMatchObject({ error: { code: 'invalid-payload' } });
    }
    expect(await eventsHead()).toBe(before);
    await allReady();
  });

  it('answers valid and mutated bodies with a result or a documented error code, and stays ready', async () => {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'fz-ep', address: 'support@fuzz.test', queueId: 'support', leaseSeconds: 600 });
    for (const { address, schema } of requests) {
      await fc.assert(
        fc.asyncProperty(subjectFor(address), fc.oneof({ weight: 3, arbitrary: validValue(schema) }, { weight: 1, arbitrary: mutatedValue(schema) }), headerArb, async (subject, body, hdrs) => {
          const reply = await ask(subject, body, hdrs);
          const error = reply.error as { code?: string } | undefined;
          if (error) expect(DOCUMENTED.has(error.code ?? ''), `${subject} → ${JSON.stringify(error)} for ${JSON.stringify(body)?.slice(0, 200)}`).toBe(true);
        }),
        { numRuns: RUNS },
      );
    }
    await allReady();
  });
});

describe('fuzzing every JSON endpoint of docs/openapi-gateway-web.yaml', () => {
  it('answers with a documented status (never 5xx) for valid, hostile and unauthenticated calls', async () => {
    const start = (await (
      await fetch(`${base}/api/widget/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: 'support@fuzz.test' }) })
    ).json()) as { token?: string };
    const agent = (await (
      await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alex', password: 'alex-pass' }) })
    ).json()) as { token: string };
    const supervisor = (await (
      await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sam', password: 'sam-pass' }) })
    ).json()) as { token: string };
    const tokens = [start.token, agent.token, supervisor.token, undefined, 'x.y.z', `${agent.token}.extra`, `Bearer\r\n${agent.token}`].filter((t) => t !== `Bearer\r\n${agent.token}`);
    const endpoints = Object.entries(openapi.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => method === 'post' || path.startsWith('/api/'))
        .map(([method, op]) => ({ path, method, op })),
    );
    expect(endpoints.length).toBeGreaterThanOrEqual(10);
    for (const { path, method, op } of endpoints) {
      const schema = op.requestBody?.content['application/json'].schema ?? { type: 'object' };
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(validValue(schema), mutatedValue(schema), hostileValue),
          fc.constantFrom(...tokens),
          fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.constantFrom(...NASTY_STRINGS.filter((s) => s.length > 0 && !s.includes('/') && !/[\uD800-\uDFFF]/.test(s)))),
          async (body, token, param) => {
            const url = `${base}${path
              .replace(/\{offerId\}/, encodeURIComponent(param))
              .replace(/\{answer\}/, 'accept')
              .replace(/\{\w+\}/g, encodeURIComponent(param))}${path.includes('availability') ? `?address=${encodeURIComponent(String(param))}` : ''}`;
            const res = await fetch(url, {
              method: method.toUpperCase(),
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              ...(method === 'post' ? { body: JSON.stringify(body) ?? 'null' } : {}),
            });
            const text = await res.text();
            expect(res.status, `${method} ${url} → ${text.slice(0, 200)}`).toBeLessThan(500);
            if (res.status >= 400) expect([400, 401, 403, 404, 409, 429]).toContain(res.status);
          },
        ),
        { numRuns: Math.max(5, Math.floor(RUNS / 2)) },
      );
    }
    // The unauthenticated endpoints with a body nested 5,000 levels and with prototype keys: 400, not 500.
    for (const path of ['/api/auth/login', '/api/widget/sessions']) {
      for (const body of [{ username: nest(2_000, 'object'), password: 'x' }, JSON.parse('{"__proto__":{"admin":true},"username":"a","password":"b","address":"a@b"}') as unknown]) {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, path).toBe(400);
      }
    }
    // Size: under the limit a long field is a 400 naming it; over the limit the body is not even parsed (413).
    const big = (n: number) => fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'x'.repeat(n), password: 'p' }) });
    expect((await big(200_000)).status).toBe(400);
    expect((await big(300_000)).status).toBe(413);
    await allReady();
  });
});

describe('authorization property: acting on a session one does not hold is refused', () => {
  it('for random pairs of customers, channels and agents, and writes nothing', async () => {
    await stack.request(SUBJECTS.registrationRegister, { entryPointId: 'fz-auth', address: 'desk@fuzz.test', queueId: 'authq', leaseSeconds: 600 });
    const channels = ['web', 'cli', 'sms'];
    const customers = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const channel = channels[i % channels.length]!;
        const from = `cust${i}@${channel}.fuzz.test`;
        const r = await stack.request<{ sessionId: string; sessionAddress: string }>(asActorSubject(SUBJECTS.imSubscribe, channel), { channel, from, to: 'desk@fuzz.test' });
        return { channel, from, ...r };
      }),
    );
    const agents = ['fz-a1', 'fz-a2'];
    for (const agentId of agents)
      await stack.request(asActorSubject(SUBJECTS.agentLogin, agentId), {
        agentId,
        displayName: agentId,
        kind: 'human',
        skills: {},
        languages: ['en'],
        capabilities: ['text'],
        queues: ['other-queue'],
      });
    // What the attempts could have written: anything but the router's own offers (agents the fuzzing above logged
    // in for every queue may be offered these sessions meanwhile; nobody accepts).
    const written = async (sessionId: string) => (await stack.store.readStream({ aggregate: 'session', id: sessionId })).events.filter((e) => !e.type.startsWith('SessionOffer'));
    const streams = async () => Promise.all(customers.map(async (c) => (await written(c.sessionId)).length));
    // Every session waiting in its queue (its opening events all written) before anyone tries anything.
    await until(
      async () =>
        (await Promise.all(customers.map(async (c) => (await stack.store.readStream({ aggregate: 'session', id: c.sessionId })).events.some((e) => e.type === 'SessionQueued')))).every(Boolean) ||
        undefined,
      'the sessions to be queued',
    );
    const before = await streams();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(...channels),
        fc.constantFrom(...agents),
        fc.string({ minLength: 1, maxLength: 20 }),
        async (i, j, channel, agentId, text) => {
          const actor = customers[i]!;
          const target = customers[j]!;
          if (i !== j) {
            // Another customer writing into this session, on the right or a wrong channel.
            const said = await stack.request(asActorSubject(SUBJECTS.imMessage, target.channel), {
              messageId: `x-${text}`,
              channel: target.channel,
              from: actor.from,
              to: target.sessionAddress,
              body: text,
            });
            expect(said, `${actor.from} → ${target.sessionId}`).toMatchObject({ error: { code: expect.stringMatching(/^(forbidden|not-found)$/) } });
          }
          if (channel !== target.channel) {
            // The right customer through another channel's subject or payload.
            const viaOther = await stack.request(asActorSubject(SUBJECTS.imMessage, channel), {
              messageId: `y-${text}`,
              channel: target.channel,
              from: target.from,
              to: target.sessionAddress,
              body: text,
            });
            expect(viaOther).toMatchObject({ error: { code: 'forbidden' } });
            // Defect 2: the customer's address on another channel cannot end the session either.
            const leftViaOther = await stack.request(asActorSubject(SUBJECTS.imUnsubscribe, channel), { channel, from: target.from, to: target.sessionAddress });
            expect(leftViaOther, `unsubscribe of ${target.sessionId} via ${channel}`).toMatchObject({ error: { code: 'forbidden' } });
          }
          if (i !== j) {
            const leftByOther = await stack.request(asActorSubject(SUBJECTS.imUnsubscribe, target.channel), { channel: target.channel, from: actor.from, to: target.sessionAddress });
            expect(leftByOther, `${actor.from} ends ${target.sessionId}`).toMatchObject({ error: { code: expect.stringMatching(/^(forbidden|not-found)$/) } });
          }
          // No agent holds these sessions (they wait in a queue no agent serves): no agent may write or end them.
          expect(await stack.request(asActorSubject(SUBJECTS.agentMessage, agentId), { agentId, sessionId: target.sessionId, messageId: `z-${text}`, body: text })).toMatchObject({
            error: { code: expect.stringMatching(/^(forbidden|not-found|conflict)$/) },
          });
          expect(await stack.request(asActorSubject(SUBJECTS.agentSessionEnd, agentId), { agentId, sessionId: target.sessionId })).toMatchObject({
            error: { code: expect.stringMatching(/^(forbidden|not-found|conflict)$/) },
          });
          expect(await stack.request(asActorSubject(SUBJECTS.agentTransfer, agentId), { agentId, sessionId: target.sessionId, toQueueId: 'elsewhere' })).toMatchObject({
            error: { code: expect.stringMatching(/^(forbidden|not-found|conflict)$/) },
          });
        },
      ),
      { numRuns: RUNS },
    );
    const after = await Promise.all(customers.map(async (c) => (await written(c.sessionId)).map((e) => `${e.type} ${JSON.stringify(e.data).slice(0, 120)}`)));
    expect(
      after.map((events) => events.length),
      JSON.stringify(after, null, 1),
    ).toEqual(before);
  });
});

describe('web tokens (defect 7)', () => {
  it('a signed-out token is refused by every gateway instance, and a token without exp by any', async () => {
    const other = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: secret, WEB_USERS_FILE: users });
    const otherBase = `http://127.0.0.1:${other.httpPort}`;
    const { token } = (await (
      await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'sam', password: 'sam-pass' }) })
    ).json()) as { token: string };
    const agent = (await (
      await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alex', password: 'alex-pass' }) })
    ).json()) as { token: string };
    // The agent's desktop socket, open on the other instance: it closes when the agent signs out on this one.
    const socket = new WebSocket(`ws://127.0.0.1:${other.httpPort}/ws?token=${agent.token}`);
    await new Promise<void>((resolve, reject) => socket.once('message', () => resolve()).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    expect((await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}` } })).status).toBe(200);
    expect(await closed).toBe(4401);
    const overview = (at: string, t: string) => fetch(`${at}/api/supervisor/overview`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    expect(await overview(base, token)).toBe(200);
    expect(await overview(otherBase, token)).toBe(200);
    expect((await fetch(`${base}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(await overview(base, token)).toBe(401);
    await until(async () => (await overview(otherBase, token)) === 401 || undefined, 'the other instance to refuse the signed-out token', 10_000);
    // Signed with the real secret, but no exp: refused.
    const { createHmac } = await import('node:crypto');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ role: 'supervisor', sub: 'sam', jti: 'x'.repeat(22), iat: Math.floor(Date.now() / 1000) })}`;
    const forever = `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    expect(await overview(base, forever)).toBe(401);
    expect(await overview(otherBase, forever)).toBe(401);
    await other.stop();
  });
});

describe('web desks across gateway instances', () => {
  it('keeps an agent on when their desk reconnects to another instance, and sets them offline when the last desk anywhere closes', async () => {
    const other = await stack.launchExtra('gateway-web', { WEB_JWT_SECRET: secret, WEB_USERS_FILE: users });
    const { token } = (await (
      await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alex', password: 'alex-pass' }) })
    ).json()) as { token: string };
    const agentEvents = async () => (await stack.store.readStream({ aggregate: 'agent', id: 'fz-alex' })).events;
    const open = async (port: number) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
      await new Promise<void>((resolve, reject) => socket.once('message', () => resolve()).once('error', reject));
      return socket;
    };
    const close = (socket: WebSocket) => new Promise<void>((resolve) => socket.once('close', () => resolve()).close());
    const here = await open(web.httpPort);
    const state = await fetch(`${base}/api/desk/state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ state: 'available' }),
    });
    expect(state.status).toBe(200);
    // A reload whose new socket lands on the other instance (no session affinity): the first instance's grace runs
    // out with no desk of its own, finds the one on the other instance, and keeps the agent on.
    const movedAt = Date.now();
    await close(here);
    const there = await open(other.httpPort);
    await until(() => readFileSync(web.logFile, 'utf8').includes('desk closed here but open on another instance: agent kept') || undefined, 'the first instance to keep the agent on', 30_000);
    expect((await agentEvents()).filter((e) => e.type === 'AgentLoggedOut' && Date.parse(e.metadata.at) >= movedAt)).toEqual([]);
    // The last desk anywhere closes: offline, asked of the first instance too, which has none.
    const closedAt = Date.now();
    await close(there);
    await until(
      async () => (await agentEvents()).some((e) => e.type === 'AgentLoggedOut' && Date.parse(e.metadata.at) >= closedAt) || undefined,
      'the agent offline once no desk is open anywhere',
      30_000,
    );
    await other.stop();
  });
});
