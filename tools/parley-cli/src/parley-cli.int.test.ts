import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type AnalyticsEvent, DEFAULT_KPI_OPTIONS, type KpiRow, computeKpis, simulate, syntheticWorkload } from '@parley/analytics';
import { type NatsServerHandle, type ProcessOutcome, runNode, startNatsServer } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeEvents } from './stored-events.fixture.js';

const BIN = fileURLToPath(new URL('../bin/parley.mjs', import.meta.url));

let nats: NatsServerHandle;
let nc: NatsConnection;
let events: AnalyticsEvent[];
let recorded: ReturnType<typeof simulate>;
const dir = mkdtempSync(join(tmpdir(), 'parley-cli-int-'));

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 100)) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function parley(args: string[], env: Record<string, string> = {}): Promise<ProcessOutcome> {
  return runNode(BIN, args, { NATS_URL: nats.url, ...env });
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  // A recorded run: a simulated 2-hour day of two queues, stored in the services' wire shape.
  const { arrivals, roster } = syntheticWorkload({
    seed: 7,
    startMs: Date.UTC(2026, 10, 2, 8),
    hours: 2,
    peakPerHour: 60,
    queues: ['billing', 'support'],
    agentsPerQueue: 3,
    capacity: 1,
    medianHandleSeconds: 240,
    handleSigma: 0.9,
    meanPatienceSeconds: 600,
    wrapUpSeconds: 20,
    acceptDelaySeconds: 3,
  });
  events = [];
  recorded = simulate(arrivals, roster, { onEvent: (e) => events.push(e) });
  await storeEvents(nc, events);
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('parley events', () => {
  it('prints exactly the stored events in order as NDJSON', async () => {
    const r = await parley(['events', '--quiet']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AnalyticsEvent);
    expect(lines.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
    expect(lines.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(lines[0]).toMatchObject({ aggregate: events[0]!.aggregate, type: events[0]!.type, data: events[0]!.data });
  });

  it('filters by position, aggregate and type, and writes to a file', async () => {
    const out = join(dir, 'events.ndjson');
    const r = await parley(['events', '--from-seq', '100', '--aggregate', 'session', '--type', 'SessionAssigned,SessionEnded', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AnalyticsEvent);
    const expected = events.slice(99).filter((e) => e.aggregate === 'session' && ['SessionAssigned', 'SessionEnded'].includes(e.type));
    expect(lines.map((e) => e.id)).toEqual(expected.map((e) => e.id));
  });

  it('reports progress on stderr', async () => {
    const r = await parley(['events', '--out', join(dir, 'p.ndjson')]);
    expect(r.stderr).toMatch(/events: [\d,]+ read in [\d.]+ s \([\d,]+\/s\)/);
  });
});

describe('parley export', () => {
  it('writes Parquet and CSV tables that open in DuckDB, one sessions row per session', async () => {
    for (const format of ['parquet', 'csv']) {
      const out = join(dir, `export-${format}`);
      const r = await parley(['export', '--format', format, '--out', out, '--quiet']);
      // This fixture has no deliveries stream: the export says so and leaves wait_estimates empty.
      expect(r.stderr).toMatch(/^warning: stream PARLEY_DELIVERIES not found[^\n]*; wait_estimates is empty\n$/);
      expect(r.code).toBe(0);
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const read = format === 'parquet' ? 'read_parquet' : 'read_csv_auto';
      const rows = await c.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT session_id)::INTEGER AS d, sum(CASE WHEN abandoned THEN 1 ELSE 0 END)::INTEGER AS ab FROM ${read}('${out}/sessions.${format}')`,
      );
      const [n, d, ab] = rows.getRows()[0]!;
      expect(n).toBe(recorded.sessions.length);
      expect(d).toBe(recorded.sessions.length);
      expect(ab).toBe(recorded.sessions.filter((s) => s.abandoned).length);
      const offers = await c.runAndReadAll(`SELECT count(*)::INTEGER FROM ${read}('${out}/offers.${format}') WHERE outcome = 'accepted'`);
      expect(offers.getRows()[0]![0]).toBe(recorded.sessions.filter((s) => s.assigned_at).length);
      const states = await c.runAndReadAll(`SELECT count(DISTINCT agent_id)::INTEGER FROM ${read}('${out}/agent_states.${format}')`);
      expect(states.getRows()[0]![0]).toBe(6);
      c.closeSync();
      db.closeSync();
    }
  });
});

describe('parley kpis', () => {
  it('prints the figures the library computes from the recorded rows', async () => {
    const r = await parley(['kpis', '--by', 'queue', '--json', '--quiet']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as KpiRow[];
    expect(rows).toEqual(computeKpis(recorded.sessions, [], DEFAULT_KPI_OPTIONS));
  });

  it('writes a self-contained HTML page with SVG charts', async () => {
    const html = join(dir, 'kpis.html');
    const r = await parley(['kpis', '--interval', '30m', '--html', html, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^group\s+interval\s+offered/);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('parley whatif', () => {
  it('reproduces the recorded ASA and abandon rate with the roster unchanged, and lowers ASA with two more agents', async () => {
    const same = await parley(['whatif', '--json', '--quiet']);
    expect(same.code).toBe(0);
    const c = JSON.parse(same.stdout) as { recorded: KpiRow[]; proposed: KpiRow[] };
    for (const r of c.recorded) {
      const p = c.proposed.find((x) => x.group === r.group)!;
      expect(Math.abs(p.averageSpeedOfAnswerSeconds! - r.averageSpeedOfAnswerSeconds!)).toBeLessThanOrEqual(Math.max(2, 0.1 * r.averageSpeedOfAnswerSeconds!));
      expect(Math.abs(p.abandonRate! - r.abandonRate!)).toBeLessThanOrEqual(0.05);
    }
    const center = join(dir, 'center.yaml');
    writeFileSync(
      center,
      'queues:\n  - id: billing\n    strategy: round-robin\n  - id: support\n    strategy: least-occupied\n    steps: [{afterSeconds: 0}, {afterSeconds: 120, overflowTo: [billing]}]\n',
    );
    const proposed = await parley(['whatif', '--center', center, '--quiet']);
    expect(proposed.code).toBe(0);
    expect(proposed.stdout).toMatch(/support\n\s+metric\s+recorded\s+what-if\n\s+offered\s+\d+\s+\d+/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'queues:\n  - id: billing\n    strategy: fastest\n');
    const bad = await parley(['whatif', '--center', broken, '--quiet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.yaml:3:\d+: queues\[0\]\.strategy: strategy must be one of/);
    const roster = join(dir, 'roster.yaml');
    writeFileSync(roster, 'add:\n  - agentId: extra-1\n    like: billing-agent-1\n  - agentId: extra-2\n    like: billing-agent-1\n');
    const more = JSON.parse((await parley(['whatif', '--roster', roster, '--json', '--quiet'])).stdout) as { recorded: KpiRow[]; proposed: KpiRow[] };
    const billing = (rows: KpiRow[]) => rows.find((x) => x.group === 'billing')!.averageSpeedOfAnswerSeconds!;
    expect(billing(more.proposed)).toBeLessThan(billing(more.recorded));
  });
});

describe('bad input', () => {
  it('exits 2 with a clear message on an unknown flag or a bad value', async () => {
    const unknown = await parley(['export', '--out', dir, '--formt', 'csv']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--formt'");
    const bad = await parley(['kpis', '--interval', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--interval must be a duration');
    const floor = await parley(['estimates', '--percent-floor', 'zero']);
    expect(floor.code).toBe(2);
    expect(floor.stderr).toContain('--percent-floor must be a number of seconds above 0');
    expect((await parley(['nonsense'])).code).toBe(2);
  });

  it('names a missing stream, an unreadable center file and an empty time range, without a stack trace', async () => {
    const missing = await parley(['events', '--stream', 'NO_SUCH_STREAM']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('stream NO_SUCH_STREAM not found');
    const center = await parley(['whatif', '--center', join(dir, 'absent.yaml')]);
    expect(center.code).toBe(1);
    expect(center.stderr).toContain('absent.yaml: cannot be read');
    const empty = await parley(['events', '--since', '2030-01-01T00:00:00Z']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('no events in the range');
    const emptyKpis = await parley(['kpis', '--since', '2030-01-01T00:00:00Z', '--quiet']);
    expect(emptyKpis.code).toBe(1);
    for (const r of [missing, center, empty, emptyKpis]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('has --help on every command', async () => {
    for (const cmd of ['events', 'export', 'kpis', 'whatif', 'estimates']) {
      const r = await parley([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`parley ${cmd}`);
      expect(r.stdout).toContain('--nats-url');
    }
  });
});

// Stores one more event: runs last, after every test that compares with the recorded run.
describe('parley events --follow', () => {
  it('keeps tailing with --follow and prints an event stored after it started', async () => {
    const child = spawn(process.execPath, [BIN, 'events', '--follow', '--from-seq', String(events.length), '--quiet'], {
      env: { ...process.env, NATS_URL: nats.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await until(() => stdout.includes(events.at(-1)!.id), 'the last stored event on the tail');
      const late: AnalyticsEvent = { ...events[0]!, id: 'late-event', aggregateId: 'late-session', position: 0 };
      await storeEvents(nc, [late]);
      await until(() => stdout.includes('"late-event"'), 'the event stored after the tail started');
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AnalyticsEvent);
      expect(lines.map((e) => e.position)).toEqual([events.length, events.length + 1]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await closed).toBe(0);
  });
});
