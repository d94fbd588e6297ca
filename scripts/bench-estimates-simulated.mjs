#!/usr/bin/env node
// Scores wait estimators on a synthetic long-tailed day replayed through the what-if simulator (the router's own
// routing policy in simulated time): the honest estimator (libs/domain estimateQueueWait, what reporting tells) beside
// today's formula. The default is the chat contact center of the real-stack benchmark (scripts/bench-estimates.mjs),
// a whole 8-hour day of it; `--capacity 1 --peak 120` is a small team holding one conversation each.
// Usage: npm run bench:estimates -- --simulated [--seed 13 --hours 8 --peak 360 --agents 6 --capacity 3 --sigma 0.9]   (build first: npx nx run analytics:build)
import { parseArgs } from 'node:util';
import { DEFAULT_WORKLOAD, formatEstimateScore, scoreEstimates, simulate, syntheticWorkload } from '@parley/analytics';
import { estimateQueueWait, estimateWaitSeconds, queueSnapshot } from '@parley/domain';

const { values } = parseArgs({
  options: {
    bound: { type: 'boolean' },
    seed: { type: 'string' },
    hours: { type: 'string' },
    peak: { type: 'string', default: '360' },
    agents: { type: 'string' },
    capacity: { type: 'string', default: '3' },
    sigma: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(
    "npm run bench:estimates -- --simulated [--seed N --hours H --peak ARRIVALS_PER_HOUR --agents PER_QUEUE --capacity C --sigma HANDLE_LOGNORMAL_SIGMA] [--bound]\n  --bound also scores a reference that no real estimator can be: it knows the workload generator's true handle-time\n          and patience distributions, and simulates each waiting customer's future 400 times from the live state",
  );
  process.exit(0);
}
const o = {
  ...DEFAULT_WORKLOAD,
  seed: Number(values.seed ?? DEFAULT_WORKLOAD.seed),
  hours: Number(values.hours ?? DEFAULT_WORKLOAD.hours),
  peakPerHour: Number(values.peak ?? DEFAULT_WORKLOAD.peakPerHour),
  agentsPerQueue: Number(values.agents ?? DEFAULT_WORKLOAD.agentsPerQueue),
  capacity: Number(values.capacity),
  handleSigma: Number(values.sigma ?? DEFAULT_WORKLOAD.handleSigma),
};
const DEFAULT_HANDLE = 180;
// Exactly what reporting tells a waiting customer: the estimate from the contact-center view it folds (the agents
// serving the queue, the queue's recent handle times, accept delays and abandonment, all read from the events).
const honest = (c) => estimateQueueWait(c.view, c.queueId, c.position, c.now, DEFAULT_HANDLE);
const legacy = (c) => ({ seconds: estimateWaitSeconds(queueSnapshot(c.view, c.queueId, c.now), c.position, DEFAULT_HANDLE) });

/**
 * A reference, not an estimator: a Monte Carlo over the live state (each busy conversation's elapsed time, wrap-ups,
 * reservations, the customers ahead) with the generator's TRUE log-normal handle times and exponential patience. Its
 * median error is about the least any estimate from the live state can reach on this workload (only the future
 * itself is unknown to it).
 */
function boundEstimator() {
  let a = 1;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, rand()))) * Math.cos(2 * Math.PI * rand());
  const handle = () => Math.max(5, o.medianHandleSeconds * Math.exp(o.handleSigma * normal()));
  const K = 400;
  return (c) => {
    const nowMs = Date.parse(c.now);
    const slots = [];
    for (const agent of Object.values(c.view.agents)) {
      if (agent.status !== 'available' || !(agent.profile.queues === null || agent.profile.queues.includes(c.queueId))) continue;
      const wrap = agent.wrapUpUntil ? Math.max(0, (Date.parse(agent.wrapUpUntil) - nowMs) / 1000) : 0;
      for (const sid of agent.conversations) slots.push({ elapsed: (nowMs - Date.parse(c.view.sessions[sid]?.assignedAt ?? c.now)) / 1000, extra: 0 });
      for (let i = 0; i < agent.reservations.length; i++) slots.push({ elapsed: 0, extra: o.acceptDelaySeconds });
      for (let i = agent.conversations.length + agent.reservations.length; i < agent.profile.capacity; i++) slots.push({ free: wrap });
    }
    if (slots.length === 0) return { seconds: 0, lowSeconds: null, highSeconds: null };
    const residual = (elapsed) => {
      for (let i = 0; i < 10_000; i++) {
        const h = handle();
        if (h > elapsed) return h - elapsed;
      }
      return elapsed / 2;
    };
    const waits = [];
    for (let k = 0; k < K; k++) {
      const free = slots.map((s) => ('free' in s ? s.free : s.extra + residual(s.elapsed) + o.wrapUpSeconds));
      const patience = Array.from({ length: c.position }, () => (o.meanPatienceSeconds === null ? Infinity : -Math.log(1 - rand()) * o.meanPatienceSeconds));
      let next = 0;
      let t = 0;
      for (;;) {
        let m = 0;
        for (let i = 1; i < free.length; i++) if (free[i] < free[m]) m = i;
        t = free[m];
        while (next < c.position && patience[next] < t) next++;
        if (next >= c.position) break;
        next++;
        free[m] = t + o.acceptDelaySeconds + handle() + o.wrapUpSeconds;
      }
      waits.push(t + o.acceptDelaySeconds);
    }
    waits.sort((x, y) => x - y);
    return { seconds: Math.round(waits[K >> 1]), lowSeconds: Math.floor(waits[Math.floor(K * 0.1)]), highSeconds: Math.ceil(waits[Math.floor(K * 0.9)]) };
  };
}

const started = performance.now();
const { arrivals, roster } = syntheticWorkload(o);
const result = simulate(arrivals, roster, { estimators: { honest, legacy, ...(values.bound ? { bound: boundEstimator() } : {}) }, statusEverySeconds: 30 });
const ms = performance.now() - started;
const answered = result.sessions.filter((s) => s.assigned_at).length;
const abandoned = result.sessions.filter((s) => s.abandoned).length;
console.log(`workload: seed ${o.seed}, ${o.hours} h, ${arrivals.length} arrivals over ${o.queues.length} queues, ${roster.length} agents (capacity ${o.capacity}, wrap-up ${o.wrapUpSeconds} s),`);
console.log(`          log-normal handle times (median ${o.medianHandleSeconds} s, sigma ${o.handleSigma}), mean patience ${o.meanPatienceSeconds} s`);
console.log(`simulated: ${answered} answered, ${abandoned} abandoned, ${result.events} events in ${(ms / 1000).toFixed(1)} s`);
for (const [name, list] of Object.entries(result.estimates)) {
  const title = {
    honest: 'honest estimator (estimateQueueWait, as reporting tells it)',
    legacy: "today's formula ((position + 1) × AHT ÷ staffed capacity)",
    bound: 'reference (--bound): Monte Carlo knowing the TRUE handle-time and patience distributions',
  };
  console.log(`\n${title[name]}`);
  process.stdout.write(formatEstimateScore(scoreEstimates(list)));
}
const h = scoreEstimates(result.estimates.honest);
console.log(`\ntargets: median abs % error ≤ 25% (${h.medianAbsolutePercentageError <= 0.25 ? 'met' : 'NOT met'}), ranges hold the actual wait ≥ 80% (${h.rangeHit >= 0.8 ? 'met' : 'NOT met'})`);
