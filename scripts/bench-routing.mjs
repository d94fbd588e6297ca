#!/usr/bin/env node --expose-gc
// Routing decisions per second and decision latency of the pure routing policy at contact-center scale:
// 10,000 agents, 200 queues, 50,000 waiting sessions (defaults), built through the same view the router
// folds from events. Usage: npm run bench:routing [-- --agents 10000 --queues 200 --sessions 50000 --decisions 2000]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureDependencies, log, nxEnv, run } from './prerequisites.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    queues: { type: 'string', default: '200' },
    sessions: { type: 'string', default: '50000' },
    decisions: { type: 'string', default: '2000' },
    svg: { type: 'string' },
  },
});
const AGENTS = Number(values.agents);
const QUEUES = Number(values.queues);
const SESSIONS = Number(values.sessions);
const DECISIONS = Number(values.decisions);

ensureDependencies();
if (run('npx', ['nx', 'run-many', '-t', 'build', '-p', 'domain', '--output-style=static'], { env: nxEnv, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) process.exit(1);
const { applyToView, emptyView, planOffers } = await import('@parley/domain');

if (typeof global.gc !== 'function') {
  log('run with node --expose-gc for memory figures (npm run bench:routing does)');
  process.exit(1);
}
// A seeded generator, so every run routes the same contact center.
let seed = 42;
const rnd = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff;
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const T0 = Date.parse('2026-11-21T09:00:00.000Z');
const iso = (ms) => new Date(T0 + ms).toISOString();
const queueId = (i) => `q${i}`;
const SKILLS = ['billing', 'tech', 'sales', 'returns', 'vip'];
const LANGS = ['en', 'de', 'fr', 'es'];
const progress = (label, done, total) => done % Math.max(1, Math.floor(total / 20)) === 0 && process.stdout.write(`\r  ${label}: ${Math.round((100 * done) / total)}%   `);

const heap = () => {
  global.gc();
  return process.memoryUsage().heapUsed;
};
const view = emptyView();
const meta = (at) => ({ at });
const ev = (aggregate, aggregateId, type, data) => ({ aggregate, aggregateId, type, data, metadata: meta(data.at ?? iso(0)) });

log(`building the view: ${AGENTS} agents, ${QUEUES} queues, ${SESSIONS} waiting sessions (from events) ...`);
for (let i = 0; i < AGENTS; i++) {
  const skills = Object.fromEntries(SKILLS.filter(() => rnd() < 0.5).map((s) => [s, 1 + Math.floor(rnd() * 5)]));
  const profile = {
    displayName: `A${i}`,
    kind: rnd() < 0.05 ? 'bot' : 'human',
    skills,
    languages: [pick(LANGS), 'en'],
    capacity: 1 + Math.floor(rnd() * 3),
    capabilities: ['text'],
    queues: [queueId(i % QUEUES), queueId((i * 7 + 3) % QUEUES)],
  };
  applyToView(view, ev('agent', `a${i}`, 'AgentLoggedIn', { profile, leaseSeconds: 3600, expiresAt: iso(3_600_000), at: iso(-rnd() * 600_000) }));
  progress('agents', i + 1, AGENTS);
}
process.stdout.write('\n');
const before = heap();
for (let i = 0; i < SESSIONS; i++) {
  const id = `s${i}`;
  const arrivedAt = iso(i * 10);
  const core = {
    sessionId: id,
    entryPointId: 'ep',
    channel: 'web',
    customerAddress: `c${i}@customers.example`,
    sessionAddress: `s-${id}@support.example`,
    client: { name: 'widget', version: '1.0', capabilities: ['text'] },
    locale: 'en',
    openedAt: arrivedAt,
  };
  const requirements = { skills: rnd() < 0.6 ? { [pick(SKILLS)]: 1 + Math.floor(rnd() * 3) } : {}, language: rnd() < 0.3 ? pick(LANGS) : null, capabilities: [] };
  applyToView(view, ev('session', id, 'SessionOpened', core));
  applyToView(view, ev('session', id, 'SessionQueued', { queueId: queueId(i % QUEUES), priority: rnd() < 0.1 ? 1 : 0, arrivedAt, requirements, notBefore: null }));
  progress('sessions', i + 1, SESSIONS);
}
process.stdout.write('\n');
const perSession = (heap() - before) / SESSIONS;

// The first pass: every free agent gets work at once (a cold start with a full backlog).
let now = iso(SESSIONS * 10 + 60_000);
let t = process.hrtime.bigint();
const bulk = planOffers(view, { now, declineCooldownSeconds: 60 });
const bulkMs = Number(process.hrtime.bigint() - t) / 1e6;
const accept = (offers) => {
  for (const o of offers) {
    const offerId = `o-${o.sessionId}`;
    applyToView(view, ev('agent', o.agentId, 'AgentOfferReserved', { offerId, sessionId: o.sessionId, expiresAt: iso(SESSIONS * 10 + 3_600_000) }));
    applyToView(view, ev('session', o.sessionId, 'SessionOffered', { offerId, agentId: o.agentId, expiresAt: iso(SESSIONS * 10 + 3_600_000), at: now }));
    applyToView(view, ev('session', o.sessionId, 'SessionAssigned', { offerId, agentId: o.agentId, at: now }));
    applyToView(view, ev('agent', o.agentId, 'AgentConversationStarted', { sessionId: o.sessionId, offerId }));
  }
};
accept(bulk);
log(`cold start: ${bulk.length} offers in one pass of ${bulkMs.toFixed(1)} ms`);

// Steady state: one conversation ends, the router runs a pass, one session is placed. Each pass is timed.
const busy = [];
for (const [agentId, a] of Object.entries(view.agents)) for (const s of a.conversations ?? []) busy.push([agentId, s]);
const latencies = [];
let decided = 0;
const started = process.hrtime.bigint();
for (let i = 0; i < DECISIONS && busy.length > 0; i++) {
  const [agentId, sessionId] = busy.splice(Math.floor(rnd() * busy.length), 1)[0];
  now = iso(SESSIONS * 10 + 60_000 + i * 1000);
  applyToView(view, ev('session', sessionId, 'SessionEnded', { endedBy: 'agent', reason: 'done', disposition: null, abandoned: false, agentId, at: now }));
  applyToView(view, ev('agent', agentId, 'AgentConversationEnded', { sessionId, at: now, wrapUpUntil: null }));
  // The router routes incrementally on events: the pass looks at what the events touched (the freed agent and
  // the ended session); a full pass runs on the clock (measured below).
  t = process.hrtime.bigint();
  const offers = planOffers(view, { now, declineCooldownSeconds: 60, touched: { agents: [agentId], sessions: [sessionId] } });
  latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  decided += offers.length;
  accept(offers);
  for (const o of offers) busy.push([o.agentId, o.sessionId]);
  progress('steady-state decisions', i + 1, DECISIONS);
}
process.stdout.write('\n');
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
// The clock's full pass over the same view (what time alone changes), for comparison.
const fullPasses = [];
for (let i = 0; i < 50; i++) {
  t = process.hrtime.bigint();
  planOffers(view, { now, declineCooldownSeconds: 60 });
  fullPasses.push(Number(process.hrtime.bigint() - t) / 1e6);
}
fullPasses.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
const waiting = Object.values(view.sessions).filter((s) => s.status === 'queued').length;
const figures = {
  'cold start': `${bulk.length} offers in ${bulkMs.toFixed(1)} ms (${Math.round(bulk.length / (bulkMs / 1000))} decisions/s)`,
  'steady state': `${decided} decisions in ${latencies.length} passes, ${Math.round(decided / seconds)} decisions/s`,
  'decision latency': `p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms (one incremental routing pass with ${waiting} sessions waiting; goal p99 <= 1 ms)`,
  'full pass (on the clock)': `p50 ${fullPasses[25].toFixed(2)} ms, p99 ${fullPasses[49].toFixed(2)} ms`,
  'memory per waiting session': `${(perSession / 1024).toFixed(2)} KiB`,
};
console.log('');
for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(28)} ${v}`);
if (values.svg) {
  const bars = latencies.filter((_, i) => i % Math.max(1, Math.floor(latencies.length / 100)) === 0);
  const max = Math.max(...bars);
  const w = 6;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${bars.length * w + 80}" height="260" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14" font-weight="bold">Routing pass latency, sorted (${AGENTS} agents, ${QUEUES} queues, ${waiting} waiting)</text>${bars
    .map((v, i) => `<rect x="${60 + i * w}" y="${240 - (v / max) * 200}" width="${w - 1}" height="${(v / max) * 200}" fill="#66c2a5"/>`)
    .join(
      '',
    )}<text x="10" y="44" font-size="12">${max.toFixed(1)} ms</text><text x="10" y="240" font-size="12">0 ms</text><text x="60" y="256" font-size="12">p50 ${pct(50).toFixed(2)} ms · p99 ${pct(99).toFixed(2)} ms</text></svg>\n`;
  writeFileSync(values.svg, svg);
  log(`chart written to ${values.svg}`);
}
