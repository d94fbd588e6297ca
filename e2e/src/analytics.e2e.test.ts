import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { SUBJECTS } from '@parley/contracts';
import type { StoredEvent } from '@parley/event-store';
import { type ProcessOutcome, runNode } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyStack, until } from './parley-stack.js';

// Records a real run of the whole stack with scripted customers and agents, then runs every `parley` command
// against it (the CLI as analysts run it: its own process, read-only, on the same nats-server).
const PARLEY = fileURLToPath(new URL('../../tools/parley-cli/bin/parley.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parley-analytics-e2e-'));

let stack: ParleyStack;
let stored: StoredEvent[];
let n = 0;
const uid = (p: string) => `${p}${++n}${Date.now().toString(36)}`;
const QA = uid('qa');
const QB = uid('qb');
const ANALYST = 'ann';

function parley(args: string[]): Promise<ProcessOutcome> {
  // As an analyst (infra/nats/templates/analyst.conf): read-only, no consumer of its own (docs/analytics.md).
  return runNode(PARLEY, args, { ...stack.nats.serviceEnv(ANALYST), NATS_INBOX_PREFIX: stack.nats.credentials(ANALYST).inboxPrefix });
}

interface Available {
  status: 'available';
  sessionId: string;
  sessionAddress: string;
}

async function readAll(): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const e of stack.store.readAll({ fromPosition: 1 })) events.push(e);
  return events;
}

/** The scenario: queue A with one person (capacity 1), queue B with one bot. */
async function recordRun() {
  const channel = uid('ch');
  const customers = await stack.customerInbox(channel);
  const epA = { entryPointId: uid('epa'), address: `${uid('a')}@support.example.test`, queueId: QA, leaseSeconds: 600 };
  const epB = { entryPointId: uid('epb'), address: `${uid('b')}@support.example.test`, queueId: QB, leaseSeconds: 600 };
  for (const ep of [epA, epB]) expect(await stack.request(SUBJECTS.registrationRegister, ep)).toMatchObject({ entryPointId: ep.entryPointId });
  const person = uid('alex');
  const bot = uid('bot');
  const personInbox = await stack.agentInbox(person);
  const botInbox = await stack.agentInbox(bot);
  const login = (agentId: string, kind: 'human' | 'bot', queueId: string, capacity: number) =>
    stack.request(SUBJECTS.agentLogin, { agentId, displayName: agentId, kind, skills: {}, languages: ['en'], capacity, capabilities: [], queues: [queueId], leaseSeconds: 600 });
  expect(await login(person, 'human', QA, 1)).toMatchObject({ state: 'available' });
  expect(await login(bot, 'bot', QB, 5)).toMatchObject({ state: 'available' });
  const subscribe = async (address: string) => {
    const from = `${uid('cust')}@customers.example.test`;
    const r = await stack.request<Available>(SUBJECTS.imSubscribe, { channel, from, to: address, client: { name: 'Gajim', version: '1.8.4', capabilities: [] } });
    expect(r.status).toBe('available');
    return { ...r, from };
  };
  const offerOf = async (inbox: typeof personInbox, sessionId: string) => (await inbox.waitFor((d) => d.kind === 'offer' && d.sessionId === sessionId, `the offer of ${sessionId}`)).offerId!;

  // c1 is answered at once; c2 and c3 wait behind it; c3 gives up; c2 is answered when c1 ends.
  const c1 = await subscribe(epA.address);
  expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId: person, offerId: await offerOf(personInbox, c1.sessionId) })).toEqual({ sessionId: c1.sessionId });
  expect(await stack.request(SUBJECTS.imMessage, { messageId: uid('m'), channel, from: c1.from, to: c1.sessionAddress, body: 'my invoice is wrong' })).toMatchObject({ accepted: true });
  expect(await stack.request(SUBJECTS.agentMessage, { agentId: person, sessionId: c1.sessionId, messageId: uid('r'), body: 'Let me look' })).toEqual({ accepted: true });
  const c2 = await subscribe(epA.address);
  const c3 = await subscribe(epA.address);
  await customers.waitFor((d) => d.kind === 'status' && d.sessionId === c2.sessionId, 'a status for c2');
  await customers.waitFor((d) => d.kind === 'status' && d.sessionId === c3.sessionId, 'a status for c3');
  await stack.request(SUBJECTS.imUnsubscribe, { channel, from: c3.from, to: c3.sessionAddress });
  expect(await stack.request(SUBJECTS.agentSessionEnd, { agentId: person, sessionId: c1.sessionId, disposition: 'resolved' })).toEqual({});
  expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId: person, offerId: await offerOf(personInbox, c2.sessionId) })).toEqual({ sessionId: c2.sessionId });
  expect(await stack.request(SUBJECTS.agentSessionEnd, { agentId: person, sessionId: c2.sessionId, disposition: 'resolved' })).toEqual({});
  // c4 is taken by the bot and never handed to a person.
  const c4 = await subscribe(epB.address);
  expect(await stack.request(SUBJECTS.agentOfferAccept, { agentId: bot, offerId: await offerOf(botInbox, c4.sessionId) })).toEqual({ sessionId: c4.sessionId });
  expect(await stack.request(SUBJECTS.agentSessionEnd, { agentId: bot, sessionId: c4.sessionId, disposition: 'answered' })).toEqual({});
  const sessions = [c1, c2, c3, c4].map((c) => c.sessionId);
  // Recorded once every session has ended and the agents' conversation ends are stored.
  return until(async () => {
    const events = await readAll();
    const ended = events.filter((e) => e.type === 'SessionEnded' && sessions.includes(e.aggregateId)).length;
    const freed = events.filter((e) => e.type === 'AgentConversationEnded').length;
    return ended === 4 && freed === 3 ? { events, sessions, c1, c2, c3, c4 } : undefined;
  }, 'the scripted run to be stored');
}

let run: Awaited<ReturnType<typeof recordRun>>;

beforeAll(async () => {
  // Statuses every 2 s as well as on change: a customer is told their place soon even if a change-triggered pass is missed.
  stack = await ParleyStack.start({ OFFER_TIMEOUT_SECONDS: '30', ROUTING_TICK_MS: '100', STATUS_INTERVAL_SECONDS: '2' }, { roles: [{ name: ANALYST, template: 'analyst', values: { ANALYST } }] });
  run = await recordRun();
  stored = run.events;
});

afterAll(async () => {
  await stack?.stop();
});

const byType = (sessionId: string, type: string) => stored.find((e) => e.aggregateId === sessionId && e.type === type)!;
const at = (e: StoredEvent) => Date.parse((e.data as { at?: string }).at ?? e.metadata.at);
const waitOf = (sessionId: string, endType: 'SessionAssigned' | 'SessionEnded') =>
  (at(byType(sessionId, endType)) - Date.parse((byType(sessionId, 'SessionQueued').data as { arrivedAt: string }).arrivedAt)) / 1000;

describe('parley against a recorded run', () => {
  it("events: returns exactly the run's events in order", async () => {
    const r = await parley(['events', '--quiet']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StoredEvent);
    expect(lines.map((e) => [e.position, e.id, e.type])).toEqual(stored.map((e) => [e.position, e.id, e.type]));
    const queued = await parley(['events', '--queue', QB, '--aggregate', 'session', '--quiet']);
    expect(
      new Set(
        queued.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as StoredEvent).aggregateId),
      ),
    ).toEqual(new Set([run.c4.sessionId]));
  });

  it('export: Parquet and CSV open in DuckDB with one sessions row per session', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    for (const [format, reader] of [
      ['parquet', 'read_parquet'],
      ['csv', 'read_csv_auto'],
    ] as const) {
      const out = join(dir, format);
      const r = await parley(['export', '--format', format, '--out', out, '--quiet']);
      expect(r.code).toBe(0);
      const sessions = await c.runAndReadAll(`SELECT session_id, queue_id, abandoned, agent_id FROM ${reader}('${out}/sessions.${format}') ORDER BY opened_at`);
      expect(sessions.getRows().map((row) => row[0])).toEqual(run.sessions);
      expect(sessions.getRows().map((row) => row[2])).toEqual([false, false, true, false]);
      const messages = await c.runAndReadAll(`SELECT author, length::INTEGER, body FROM ${reader}('${out}/messages.${format}') ORDER BY sent_at`);
      expect(messages.getRows()).toEqual([
        ['customer', 'my invoice is wrong'.length, null],
        ['agent', 'Let me look'.length, null],
      ]);
      const offers = await c.runAndReadAll(`SELECT count(*)::INTEGER FROM ${reader}('${out}/offers.${format}') WHERE outcome = 'accepted' AND strategy = 'longest-idle'`);
      expect(offers.getRows()[0]![0]).toBe(3);
      const estimates = await c.runAndReadAll(`SELECT count(*)::INTEGER FROM ${reader}('${out}/wait_estimates.${format}') WHERE session_id IN ('${run.c2.sessionId}', '${run.c3.sessionId}')`);
      expect(estimates.getRows()[0]![0] as number).toBeGreaterThanOrEqual(2);
    }
    c.closeSync();
    db.closeSync();
  });

  it('kpis: equal the figures computed by hand for the scenario', async () => {
    const r = await parley(['kpis', '--by', 'queue', '--short-abandon', '0', '--json', '--quiet']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, number | string | null>[];
    const a = rows.find((x) => x.group === QA)!;
    const b = rows.find((x) => x.group === QB)!;
    const [c1, c2, c4] = [run.c1.sessionId, run.c2.sessionId, run.c4.sessionId];
    const handle = (s: string) => (at(byType(s, 'SessionEnded')) - at(byType(s, 'SessionAssigned'))) / 1000;
    const w1 = waitOf(c1, 'SessionAssigned');
    const w2 = waitOf(c2, 'SessionAssigned');
    const w3 = waitOf(run.c3.sessionId, 'SessionEnded');
    expect(a).toMatchObject({ offered: 3, answered: 2, abandoned: 1, shortAbandoned: 0, transferRate: 0, botContainment: null });
    expect(a.abandonRate).toBeCloseTo(1 / 3, 9);
    expect(a.averageSpeedOfAnswerSeconds).toBeCloseTo((w1 + w2) / 2, 6);
    expect(a.averageHandleSeconds).toBeCloseTo((handle(c1) + handle(c2)) / 2, 6);
    expect(a.longestWaitSeconds).toBeCloseTo(Math.max(w1, w2, w3), 6);
    expect(a.serviceLevel).toBeCloseTo([w1, w2].filter((w) => w <= 20).length / 3, 9);
    expect(b).toMatchObject({ offered: 1, answered: 1, abandoned: 0, botContainment: 1 });
    expect(b.averageHandleSeconds).toBeCloseTo(handle(c4), 6);
    const html = join(dir, 'kpis.html');
    const page = await parley(['kpis', '--interval', '15m', '--html', html, '--quiet']);
    expect(page.code).toBe(0);
    expect(page.stdout).toContain(QA);
  });

  it('whatif: the unchanged roster reproduces ASA and abandonment; two more agents lower ASA', async () => {
    // The stack runs without a contact-center file: the router's defaults, which this file states explicitly.
    const center = join(dir, 'center.yaml');
    writeFileSync(center, `queues:\n  - id: ${QA}\n    strategy: longest-idle\n    steps: [{afterSeconds: 0}]\n  - id: ${QB}\n    strategy: longest-idle\n`);
    const same = await parley(['whatif', '--center', center, '--json', '--quiet']);
    expect(same.code).toBe(0);
    const c = JSON.parse(same.stdout) as { recorded: Record<string, number>[]; proposed: Record<string, number>[] };
    const pick = (rows: Record<string, number>[]) => rows.find((x) => (x.group as unknown as string) === QA)!;
    const [rec, rep] = [pick(c.recorded), pick(c.proposed)];
    expect(Math.abs(rep.averageSpeedOfAnswerSeconds! - rec.averageSpeedOfAnswerSeconds!)).toBeLessThanOrEqual(Math.max(2, 0.1 * rec.averageSpeedOfAnswerSeconds!));
    expect(Math.abs(rep.abandonRate! - rec.abandonRate!)).toBeLessThanOrEqual(0.05);
    const person = (stored.find((e) => e.type === 'SessionAssigned' && e.aggregateId === run.c1.sessionId)!.data as { agentId: string }).agentId;
    const roster = join(dir, 'two-more.yaml');
    writeFileSync(roster, `add:\n  - agentId: extra-1\n    like: ${person}\n  - agentId: extra-2\n    like: ${person}\n`);
    const more = await parley(['whatif', '--center', center, '--roster', roster, '--json', '--quiet']);
    expect(more.code).toBe(0);
    const m = JSON.parse(more.stdout) as { recorded: Record<string, number>[]; proposed: Record<string, number>[] };
    expect(pick(m.proposed).averageSpeedOfAnswerSeconds!).toBeLessThan(pick(m.recorded).averageSpeedOfAnswerSeconds!);
  });

  it('estimates: prints the score of the estimates told', async () => {
    const r = await parley(['estimates', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/estimates told\s+\d+/);
    const told = Number(/estimates told\s+(\d+)/.exec(r.stdout)![1]);
    expect(told).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/median abs error\s+[\d.]+ s/);
  });
});
