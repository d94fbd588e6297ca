#!/usr/bin/env node
// Appends per second through the event-store port (JetStream adapter: optimistic concurrency + dedup IDs)
// beside raw JetStream acked publishes, measured in the same run on a fresh loopback nats-server.
// Usage: npm run bench:store [-- --events 20000 --streams 1000 --inflight 1000]
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureDebianProgram, ensureDependencies, log, nxEnv, run } from './prerequisites.mjs';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '20000' }, streams: { type: 'string', default: '1000' }, inflight: { type: 'string', default: '1000' }, svg: { type: 'string' } },
});
const EVENTS = Number(values.events);
const STREAMS = Number(values.streams);
const INFLIGHT = Number(values.inflight);

ensureDependencies();
ensureDebianProgram('nats-server');
if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', 'event-store', 'testing', '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);
const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
const { connect } = await import('@nats-io/transport-node');
const { JetStreamEventStore } = await import('@parley/event-store');
const { startNatsServer } = await import('@parley/testing');

const payload = { text: 'x'.repeat(120), n: 0 };
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const progress = (label, done) => process.stdout.write(`\r  ${label}: ${done}/${EVENTS} (${Math.round((100 * done) / EVENTS)}%)   `);

/** Runs `EVENTS` operations, at most INFLIGHT at a time, one worker per stream so each stream's appends are in order. */
async function measure(label, op) {
  const latencies = [];
  let done = 0;
  const perStream = Math.ceil(EVENTS / STREAMS);
  const started = process.hrtime.bigint();
  const workers = Array.from({ length: Math.min(STREAMS, INFLIGHT) }, async (_, w) => {
    for (let s = w; s < STREAMS; s += INFLIGHT) {
      let version = 0;
      for (let i = 0; i < perStream && done < EVENTS; i++) {
        const t = process.hrtime.bigint();
        version = await op(s, i, version);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (++done % 1000 === 0) progress(label, done);
      }
    }
  });
  await Promise.all(workers);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write('\n');
  latencies.sort((a, b) => a - b);
  return { label, perSecond: Math.round(done / seconds), p50: pct(latencies, 50), p99: pct(latencies, 99), done };
}

/** A small horizontal bar chart as SVG, so the figures can be looked at in the docs. */
function barChart(title, rows) {
  const max = Math.max(...rows.map((r) => r.perSecond));
  const bars = rows
    .map((r, i) => {
      const y = 40 + i * 44;
      const w = Math.round((r.perSecond / max) * 420);
      return `<text x="10" y="${y + 20}" font-size="13">${r.label}</text><rect x="230" y="${y + 5}" width="${w}" height="24" fill="${i === 0 ? '#8da0cb' : '#66c2a5'}"/><text x="${236 + w}" y="${y + 22}" font-size="13">${r.perSecond.toLocaleString('en')}/s · p99 ${r.p99.toFixed(0)} ms</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="${60 + rows.length * 44}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">${title}</text>${bars}</svg>\n`;
}

const server = await startNatsServer();
try {
  const nc = await connect({ servers: server.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  log(`nats-server on ${server.url}; ${EVENTS} events over ${STREAMS} streams, at most ${INFLIGHT} in flight, ~200-byte payloads`);

  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw.>'] });
  const raw = await measure('raw JetStream acked publish', async (s, i) => {
    const ack = await js.publish(`bench.raw.${s}`, JSON.stringify({ ...payload, n: i }));
    return ack.seq;
  });
  await jsm.streams.delete('BENCH_RAW');

  const store = await JetStreamEventStore.create(nc);
  const metadata = { correlationId: 'bench', causationId: 'bench', at: new Date().toISOString(), actor: 'bench' };
  const port = await measure('event-store port append', async (s, i, version) => {
    const result = await store.append(
      { aggregate: 'bench', id: `s${s}` },
      [{ id: randomUUID(), type: 'BenchEvent', schemaVersion: 1, data: { ...payload, n: i }, metadata }],
      version === 0 ? 'no-stream' : version,
    );
    return result.version;
  });
  await nc.close();

  const fmt = (r) => `${r.label.padEnd(30)} ${String(r.perSecond).padStart(8)} /s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`;
  console.log(`\n${fmt(raw)}\n${fmt(port)}\nratio (port / raw): ${(port.perSecond / raw.perSecond).toFixed(2)}`);
  if (values.svg) {
    writeFileSync(values.svg, barChart('Event store: appends per second (higher is better)', [raw, port]));
    log(`chart written to ${values.svg}`);
  }
} finally {
  await server.stop();
}
