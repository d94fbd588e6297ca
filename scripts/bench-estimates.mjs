#!/usr/bin/env node
// Scores wait estimators on a synthetic long-tailed day replayed through the what-if simulator (the router's own
// routing policy in simulated time): the honest estimator (libs/domain estimateWait) beside today's formula.
// Usage: npm run bench:estimates [-- --seed 13 --hours 8 --peak 120 --agents 6 --sigma 0.9]   (build first: npx nx run analytics:build)
import { parseArgs } from 'node:util';
import { DEFAULT_WORKLOAD, formatEstimateScore, scoreEstimates, simulate, syntheticWorkload } from '@parley/analytics';
import { estimateWait, estimateWaitSeconds, queueSnapshot, servingAgentsOf } from '@parley/domain';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, hours: { type: 'string' }, peak: { type: 'string' }, agents: { type: 'string' }, sigma: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log('npm run bench:estimates [-- --seed N --hours H --peak ARRIVALS_PER_HOUR --agents PER_QUEUE --sigma HANDLE_LOGNORMAL_SIGMA]');
  process.exit(0);
}
const o = {
  ...DEFAULT_WORKLOAD,
  seed: Number(values.seed ?? DEFAULT_WORKLOAD.seed),
  hours: Number(values.hours ?? DEFAULT_WORKLOAD.hours),
  peakPerHour: Number(values.peak ?? DEFAULT_WORKLOAD.peakPerHour),
  agentsPerQueue: Number(values.agents ?? DEFAULT_WORKLOAD.agentsPerQueue),
  handleSigma: Number(values.sigma ?? DEFAULT_WORKLOAD.handleSigma),
};
const DEFAULT_HANDLE = 180;
const honest = (c) =>
  estimateWait({
    position: c.position,
    agents: servingAgentsOf(c.view, c.queueId, c.now),
    recentHandleSeconds: c.recentHandleSeconds,
    defaultHandleSeconds: DEFAULT_HANDLE,
    wrapUpSeconds: o.wrapUpSeconds,
    recentAbandoned: c.recentAbandoned,
    recentAnswered: c.recentAnswered,
  });
const legacy = (c) => ({ seconds: estimateWaitSeconds(queueSnapshot(c.view, c.queueId, c.now), c.position, DEFAULT_HANDLE) });

const started = performance.now();
const { arrivals, roster } = syntheticWorkload(o);
const result = simulate(arrivals, roster, { estimators: { honest, legacy }, statusEverySeconds: 30 });
const ms = performance.now() - started;
const answered = result.sessions.filter((s) => s.assigned_at).length;
const abandoned = result.sessions.filter((s) => s.abandoned).length;
console.log(`workload: seed ${o.seed}, ${o.hours} h, ${arrivals.length} arrivals over ${o.queues.length} queues, ${roster.length} agents (capacity ${o.capacity}, wrap-up ${o.wrapUpSeconds} s),`);
console.log(`          log-normal handle times (median ${o.medianHandleSeconds} s, sigma ${o.handleSigma}), mean patience ${o.meanPatienceSeconds} s`);
console.log(`simulated: ${answered} answered, ${abandoned} abandoned, ${result.events} events in ${(ms / 1000).toFixed(1)} s`);
for (const [name, list] of Object.entries(result.estimates)) {
  console.log(`\n${name === 'honest' ? 'honest estimator (estimateWait)' : "today's formula ((position + 1) × AHT ÷ staffed capacity)"}`);
  process.stdout.write(formatEstimateScore(scoreEstimates(list)));
}
const h = scoreEstimates(result.estimates.honest);
console.log(`\ntargets: median abs % error ≤ 25% (${h.medianAbsolutePercentageError <= 0.25 ? 'met' : 'NOT met'}), ranges hold the actual wait ≥ 80% (${h.rangeHit >= 0.8 ? 'met' : 'NOT met'})`);
