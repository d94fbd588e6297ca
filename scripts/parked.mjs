#!/usr/bin/env node
// Events that a consumer gave up on after its retries, kept on the PARLEY_PARKED stream.
//   node scripts/parked.mjs list [--consumer NAME]      one line per parked event (nothing is changed)
//   node scripts/parked.mjs replay SEQ                  sends parked event SEQ back to its consumer; once handled,
//                                                       the owning service removes it from PARLEY_PARKED
// Connects to NATS_URL (default nats://127.0.0.1:4222).
import { parseArgs } from 'node:util';

const usage = 'usage: node scripts/parked.mjs list [--consumer NAME] | replay SEQ';
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { consumer: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
} catch (err) {
  process.stderr.write(`${err.message}\n${usage}\n`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const [command, seqArg] = positionals;
if (command !== 'list' && command !== 'replay') {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
const { connect } = await import('@nats-io/transport-node');
const { jetstream, jetstreamManager, JetStreamApiError } = await import('@nats-io/jetstream');
const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
let nc;
try {
  nc = await connect({ servers: url, name: 'parley-parked', maxReconnectAttempts: 0 });
} catch (err) {
  process.stderr.write(`cannot reach NATS at ${url}: ${err.message}\n`);
  process.exit(1);
}
const jsm = await jetstreamManager(nc);
try {
  const info = await jsm.streams.info('PARLEY_PARKED');
  if (command === 'list') {
    let shown = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage('PARLEY_PARKED', { seq }).catch(() => null);
      if (!m || m.subject.endsWith('.replay')) continue;
      const p = m.json();
      if (values.consumer && p.consumer.replace(/-p\d+$/, '') !== values.consumer) continue;
      shown++;
      process.stdout.write(
        `${seq}\t${p.parkedAt}\t${p.consumer}\t${p.event.aggregate}.${p.event.aggregateId}\t${p.event.type}@${p.event.position}\tattempts ${p.attempts}\t${p.error.split('\n')[0]}\n`,
      );
    }
    process.stderr.write(`${shown} parked event(s)\n`);
  } else {
    const seq = Number(seqArg);
    if (!Number.isInteger(seq) || seq < 1) {
      process.stderr.write(`replay needs the sequence number of a parked event (see list)\n`);
      process.exit(2);
    }
    const m = await jsm.streams.getMessage('PARLEY_PARKED', { seq }).catch(() => null);
    if (!m || m.subject.endsWith('.replay')) {
      process.stderr.write(`no parked event at ${seq}\n`);
      process.exit(1);
    }
    const p = m.json();
    const consumer = p.consumer.replace(/-p\d+$/, '');
    await jetstream(nc).publish(`parley.v1.parked.${consumer}.replay`, JSON.stringify({ ...p, parkedSeq: seq }));
    process.stdout.write(`sent parked event ${seq} (${p.event.type} of ${p.event.aggregate}.${p.event.aggregateId}) back to ${consumer}\n`);
  }
} catch (err) {
  if (err instanceof JetStreamApiError && err.status === 404) process.stderr.write('no PARLEY_PARKED stream: nothing was ever parked\n');
  else process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
} finally {
  await nc.close();
}
