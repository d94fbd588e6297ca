#!/usr/bin/env node
// `parley export` of a large event log to Parquet in one streaming pass: events per second and peak RSS.
// Stores N events of realistic shape (simulated contact-center days, with messages, replicated with fresh IDs
// and shifted dates) on a fresh loopback nats-server, then runs the CLI as analysts do (its own process).
// Usage: npm run bench:export [-- --events 1000000 --format parquet]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDebianProgram, ensureDependencies, nxEnv, run } from './prerequisites.mjs';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '1000000' }, format: { type: 'string', default: 'parquet' }, 'store-dir': { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log(
    'npm run bench:export [-- --events 1000000 --format parquet|csv|ndjson --store-dir DIR]\n  --store-dir keeps the nats-server store between runs: the events are stored once, later runs only export',
  );
  process.exit(0);
}
const TARGET = Number(values.events);

ensureDependencies();
ensureDebianProgram('nats-server');
if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', 'parley-cli', 'analytics', 'testing', '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);
const { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } = await import('@nats-io/jetstream');
const { connect } = await import('@nats-io/transport-node');
const { DEFAULT_WORKLOAD, simulate, syntheticWorkload } = await import('@parley/analytics');
const { startNatsServer } = await import('@parley/testing');

// One simulated day, with a short chat (two lines each way) in every answered conversation.
const day = [];
const { arrivals, roster } = syntheticWorkload(DEFAULT_WORKLOAD);
simulate(arrivals, roster, {
  onEvent: (e) => {
    day.push(e);
    if (e.type === 'SessionAssigned') {
      const t = Date.parse(e.data.at);
      const lines = ['Hello, my invoice shows a charge twice', 'Hi, I am looking at it now', 'It is order 4711 from last week', 'Found it: the second charge is refunded today'];
      lines.forEach((body, i) => {
        const at = new Date(t + (i + 1) * 15_000).toISOString();
        const customer = i % 2 === 0;
        day.push({
          ...e,
          id: `${e.id}-m${i}`,
          type: customer ? 'CustomerMessageReceived' : 'AgentMessageSent',
          data: customer ? { messageId: `${e.id}-m${i}`, body, at } : { messageId: `${e.id}-m${i}`, agentId: e.data.agentId, body, at },
          metadata: { ...e.metadata, at },
        });
      });
    }
  },
});
const DAY_MS = 86_400_000;
/** Day k: the same day k days later with fresh IDs for every session, agent, offer and message. */
function* replicate() {
  let n = 0;
  for (let k = 0; n < TARGET; k++) {
    const shift = (iso) => new Date(Date.parse(iso) + k * DAY_MS).toISOString();
    for (const e of day) {
      if (n >= TARGET) return;
      n++;
      let text = JSON.stringify({ id: e.id, type: e.type, schemaVersion: 1, aggregateId: e.aggregateId, data: e.data, metadata: e.metadata });
      text = text.replace(/"(20\d\d-\d\d-\d\dT[^"]+Z)"/g, (_, iso) => `"${shift(iso)}"`).replace(/(syn-\d+|sim-offer-\d+|[a-z]+-agent-\d+)/g, `$1-d${k}`);
      yield { subject: `parley.v1.evt.${e.aggregate}.${e.aggregateId}-d${k}`, text };
    }
  }
}

const nats = await startNatsServer(values['store-dir'] ? { storeDir: values['store-dir'] } : {});
const out = mkdtempSync(join(tmpdir(), 'parley-bench-export-'));
try {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  const existing = await jsm.streams.info('PARLEY_EVENTS').then(
    (i) => i.state.messages,
    () => 0,
  );
  if (existing === 0) await jsm.streams.add({ name: 'PARLEY_EVENTS', subjects: ['parley.v1.evt.>'], storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old });
  const js = jetstream(nc);
  const window = new Set();
  let stored = existing;
  let bytes = 0;
  const t0 = performance.now();
  for (const { subject, text } of existing >= TARGET ? [] : replicate()) {
    const p = js.publish(subject, text).then(() => window.delete(p));
    window.add(p);
    stored++;
    bytes += text.length;
    if (window.size >= 2_000) await Promise.race(window);
    if (stored % 100_000 === 0) process.stderr.write(`  stored ${stored.toLocaleString('en')} events\n`);
  }
  await Promise.all(window);
  const storeSeconds = (performance.now() - t0) / 1000;
  await nc.close();
  if (existing >= TARGET) console.log(`reusing ${existing.toLocaleString('en')} stored events in ${values['store-dir']}`);
  else console.log(`stored ${stored.toLocaleString('en')} events (${(bytes / stored).toFixed(0)} bytes average, ${day.length.toLocaleString('en')} per simulated day) in ${storeSeconds.toFixed(1)} s`);

  // The export, as analysts run it; /usr/bin/time reports the process's peak RSS.
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %e %U %S', 'node_modules/.bin/parley', 'export', '--format', values.format, '--out', out, '--tables', 'sessions,offers,messages,agent_states'], {
    env: { ...process.env, NATS_URL: nats.url },
    encoding: 'utf8',
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const lines = r.stderr.trim().split('\n');
  const [maxKb, , user, sys] = lines.at(-1).split(' ').map(Number);
  for (const l of lines.slice(0, -1)) if (/rows →|read in/.test(l)) console.log(`  ${l}`);
  const files = readdirSync(out).map((f) => `${f} ${(statSync(join(out, f)).size / 1e6).toFixed(1)} MB`);
  console.log(
    `export --format ${values.format}: ${stored.toLocaleString('en')} events in ${seconds.toFixed(1)} s = ${Math.round(stored / seconds).toLocaleString('en')} events/s, peak RSS ${(maxKb / 1024).toFixed(0)} MB`,
  );
  console.log(
    `  CPU of the export process: ${(user + sys).toFixed(1)} s (${Math.round(stored / (user + sys)).toLocaleString('en')} events per CPU-second); load average now ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).cpus().length} cores`,
  );
  console.log(`  files: ${files.join(', ')}`);
  // The ceiling on this machine at this moment: the same stream read by an ordered consumer that does nothing with
  // the messages (the NATS client and nats-server alone), right after the export.
  const rc = await connect({ servers: nats.url });
  const rawStarted = performance.now();
  let raw = 0;
  const oc = await jetstream(rc).consumers.get('PARLEY_EVENTS');
  const rawMessages = await oc.consume({ max_messages: 20_000 });
  for await (const m of rawMessages) if (++raw >= stored || m.info.pending === 0) break;
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  await rc.close();
  console.log(
    `  raw read (ordered consumer, messages counted, nothing else): ${Math.round(raw / rawSeconds).toLocaleString('en')} messages/s; the export ran at ${(stored / seconds / (raw / rawSeconds)).toFixed(2)} of it`,
  );
  console.log(`targets: ≥ 50,000 events/s (${stored / seconds >= 50_000 ? 'met' : 'NOT met'}), ≤ 300 MB (${maxKb / 1024 <= 300 ? 'met' : 'NOT met'})`);
} finally {
  rmSync(out, { recursive: true, force: true });
  if (values['store-dir']) await nats.pause();
  else await nats.stop();
}
