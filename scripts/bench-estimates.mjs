#!/usr/bin/env node
// Scores the wait estimates Parley tells customers, on the real stack: a chat contact center's busy hours (queues
// that build up and drain, long-tailed handle times, customers who give up) played by scripted customers and agents
// over the v1 contract against real services on a real nats-server, faster than real time; then `parley estimates`
// (the analysts' command) scores every estimate told against the wait that followed.
// Usage: npm run bench:estimates [-- --seed 13 --hours 1 --scale 3 --peak 360 --agents 6 --capacity 3 --sigma 0.9]
//        npm run bench:estimates -- --simulated [...]   the same estimator over a whole day in the what-if simulator
import { parseArgs } from 'node:util';

if (process.argv.includes('--simulated')) {
  process.argv.splice(process.argv.indexOf('--simulated'), 1);
  await import('./bench-estimates-simulated.mjs');
} else {
  await realStack();
}

async function realStack() {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '13' },
      hours: { type: 'string', default: '1' },
      scale: { type: 'string', default: '3' },
      peak: { type: 'string', default: '360' },
      agents: { type: 'string', default: '6' },
      capacity: { type: 'string', default: '3' },
      sigma: { type: 'string', default: '0.9' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(`npm run bench:estimates [-- --seed N --hours H --scale F --peak ARRIVALS_PER_HOUR --agents PER_QUEUE --capacity C --sigma S] [--json FILE]
  Plays H hours of a chat contact center (two queues, AGENTS agents each serving C conversations at once, staggered
  shifts, a day-shaped arrival rate peaking at ARRIVALS_PER_HOUR, log-normal handle times with median 240 s and
  sigma S, 20 s wrap-up, 3 s to accept an offer, exponential patience with mean 900 s) F times faster than real time
  on the real stack, then scores every estimate told with \`parley estimates\` (percentages over max(actual, 10 s),
  scaled with the clock). Also prints the what-if simulator's score of the same workload for comparison.
npm run bench:estimates -- --simulated [--seed N --hours 8 --peak 120 --agents 6 --sigma 0.9 --bound]
  The estimator over a whole simulated day in the what-if simulator (no services; see its --help).`);
    process.exit(0);
  }
  for (const flag of ['seed', 'hours', 'scale', 'peak', 'agents', 'capacity', 'sigma']) {
    const n = Number(values[flag]);
    if (!Number.isFinite(n) || n <= 0 || (['agents', 'capacity', 'seed'].includes(flag) && !Number.isInteger(n))) {
      process.stderr.write(`bench:estimates: --${flag} must be a positive ${['agents', 'capacity', 'seed'].includes(flag) ? 'integer' : 'number'} (got "${values[flag]}"); see --help\n`);
      process.exit(2);
    }
  }
  const SCALE = Number(values.scale);
  const { buildOnce, startStack, onDeliveries, status, done } = await import('./bench-stack.mjs');
  buildOnce(['analytics', 'parley-cli']);
  const { DEFAULT_WORKLOAD, syntheticWorkload, simulate, scoreEstimates, formatEstimateScore } = await import('@parley/analytics');
  const { estimateQueueWait } = await import('@parley/domain');
  const { runNode } = await import('@parley/testing');

  // The workload at real scale, then every duration divided by SCALE (the generated arrivals, handle times and
  // patience are already the fast ones): the run is the same contact center's day, faster.
  const real = {
    ...DEFAULT_WORKLOAD,
    seed: Number(values.seed),
    hours: Number(values.hours),
    peakPerHour: Number(values.peak),
    agentsPerQueue: Number(values.agents),
    capacity: Number(values.capacity),
    handleSigma: Number(values.sigma),
  };
  const fast = {
    ...real,
    hours: real.hours / SCALE,
    peakPerHour: real.peakPerHour * SCALE,
    medianHandleSeconds: real.medianHandleSeconds / SCALE,
    meanPatienceSeconds: real.meanPatienceSeconds === null ? null : real.meanPatienceSeconds / SCALE,
    // Whole seconds: what an agent's profile carries.
    wrapUpSeconds: Math.max(1, Math.round(real.wrapUpSeconds / SCALE)),
    acceptDelaySeconds: real.acceptDelaySeconds / SCALE,
  };
  const STATUS_INTERVAL_SECONDS = Math.max(1, Math.round(30 / SCALE));
  const DEFAULT_HANDLE_SECONDS = Math.max(1, Math.round(180 / SCALE));
  const PERCENT_FLOOR = 10 / SCALE;
  const { arrivals, roster } = syntheticWorkload(fast);

  // What the simulator predicts for exactly this workload (same estimator, same cadence): a cross-check of the run.
  const predicted = scoreEstimates(
    simulate(arrivals, roster, {
      estimators: { told: (c) => estimateQueueWait(c.view, c.queueId, c.position, c.now, DEFAULT_HANDLE_SECONDS) },
      statusEverySeconds: STATUS_INTERVAL_SECONDS,
    }).estimates.told,
    { percentFloorSeconds: PERCENT_FLOOR },
  );

  const stack = await startStack({
    env: { STATUS_INTERVAL_SECONDS: String(STATUS_INTERVAL_SECONDS), DEFAULT_HANDLE_SECONDS: String(DEFAULT_HANDLE_SECONDS), ROUTING_TICK_MS: '100', OFFER_TIMEOUT_SECONDS: '30' },
  });
  const channel = 'bench';
  const address = (queueId) => `${queueId}@bench.example`;
  for (const queueId of real.queues) {
    await stack.request('parley.v1.registration.register', { entryPointId: `ep-${queueId}`, address: address(queueId), queueId, leaseSeconds: 3_600 });
  }

  const sessions = new Map(); // sessionId -> { arrival, from, sessionAddress, state: 'waiting' | 'assigned' | 'ended' | 'abandoned' }
  const counts = { arrived: 0, assigned: 0, ended: 0, abandoned: 0, errors: 0 };
  const fail = (what, err) => {
    counts.errors++;
    if (counts.errors <= 5) process.stderr.write(`\n  ${what}: ${err.message}\n`);
  };
  const timers = new Set();
  const later = (ms, f) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void f().catch((err) => fail('scripted step', err));
      },
      Math.max(0, ms),
    );
    timers.add(timer);
  };

  // Agents: accept each offer after the usual delay, hold the conversation for the arrival's handle time, then end it.
  const profileOf = (agent) => ({
    agentId: agent.agentId,
    displayName: agent.profile.displayName,
    kind: 'human',
    skills: {},
    languages: ['en'],
    capabilities: [],
    capacity: agent.profile.capacity,
    wrapUpSeconds: fast.wrapUpSeconds,
    queues: agent.profile.queues,
    leaseSeconds: 3_600,
  });
  const accept = async (agentId, offerId, sessionId, tries = 0) => {
    const s = sessions.get(sessionId);
    // The offer can outrun the subscribe's reply; the session is known a moment later.
    if (!s) return tries < 50 ? later(100, () => accept(agentId, offerId, sessionId, tries + 1)) : undefined;
    if (s.state !== 'waiting') return;
    try {
      await stack.request('parley.v1.agent.offer.accept', { agentId, offerId });
    } catch {
      return; // the customer left meanwhile, or the offer was withdrawn: Parley offers again
    }
    if (s.state !== 'waiting') return; // gave up while the accept was on its way: their leaving ends it
    s.state = 'assigned';
    counts.assigned++;
    later(s.arrival.handleSeconds * 1000, async () => {
      await stack.request('parley.v1.agent.session.end', { agentId, sessionId, disposition: 'resolved' });
      s.state = 'ended';
      counts.ended++;
    });
  };
  const stopAgents = await onDeliveries(stack.nc, 'parley.v1.agent.deliver.>', (d, subject) => {
    if (d.kind === 'offer') later(fast.acceptDelaySeconds * 1000, () => accept(subject.split('.').at(-1), d.offerId, d.sessionId));
  });
  const stopCustomers = await onDeliveries(stack.nc, `parley.v1.im.deliver.${channel}`, () => undefined);

  // Customers: subscribe at their arrival, say hello, give up when their patience runs out unless answered.
  const customer = async (arrival) => {
    const from = `${arrival.sessionId}@customers.bench.example`;
    const sub = await stack.request('parley.v1.im.subscribe', { channel, from, to: address(arrival.queueId) });
    if (sub.status !== 'available') throw new Error(`subscribe answered ${sub.status}`);
    const s = { arrival, from, sessionAddress: sub.sessionAddress, state: 'waiting' };
    sessions.set(sub.sessionId, s);
    counts.arrived++;
    await stack.request('parley.v1.im.message', { channel, from, to: sub.sessionAddress, messageId: 'hello', body: 'hello' });
    if (arrival.patienceSeconds !== null) {
      later(arrival.patienceSeconds * 1000, async () => {
        if (s.state !== 'waiting') return;
        s.state = 'abandoned';
        counts.abandoned++;
        await stack.request('parley.v1.im.unsubscribe', { channel, from, to: s.sessionAddress });
      });
    }
  };

  const dayMs = (real.hours * 3_600_000) / SCALE;
  const startedAt = performance.now() + 1_000;
  const since = new Date(Date.now()).toISOString();
  for (const agent of roster) {
    for (const shift of agent.shifts) {
      later(startedAt - performance.now() + (shift.fromMs - fast.startMs), () => stack.request('parley.v1.agent.login', profileOf(agent)));
      if (shift.toMs !== null)
        later(startedAt - performance.now() + (shift.toMs - fast.startMs), () => stack.request('parley.v1.agent.state', { agentId: agent.agentId, state: 'away', reason: 'end of shift' }));
    }
  }
  for (const arrival of arrivals) later(startedAt - performance.now() + (arrival.arrivedAtMs - fast.startMs), () => customer(arrival));

  // Progress until every customer has arrived and been answered, or has given up.
  const ticker = setInterval(() => {
    const t = Math.max(0, (performance.now() - startedAt) / 1000);
    const waiting = [...sessions.values()].filter((s) => s.state === 'waiting').length;
    status(
      `${t.toFixed(0)}/${(dayMs / 1000).toFixed(0)} s (${real.hours} h at ${SCALE}x): ${counts.arrived}/${arrivals.length} arrived, ${waiting} waiting, ${counts.assigned} answered, ${counts.abandoned} gave up, ${counts.ended} ended`,
    );
  }, 1_000);
  // Everyone is answered or gives up in the end, so this settles; the deadline only guards against a stack that stopped answering.
  const deadline = startedAt + dayMs + 300_000;
  await new Promise((resolve) => {
    const check = setInterval(() => {
      // Scoring needs every wait to have ended (answered or given up), not every conversation.
      const settled = counts.arrived + counts.errors >= arrivals.length && [...sessions.values()].every((s) => s.state !== 'waiting');
      if (!settled && performance.now() > deadline) process.stderr.write('\n  not settled 5 minutes after the last arrival: scoring what was told\n');
      if (settled || performance.now() > deadline) {
        clearInterval(check);
        resolve();
      }
    }, 250);
  });
  clearInterval(ticker);
  done();
  // Conversations still open (a long tail) are not needed for the score: their ends are not played.
  for (const timer of timers) clearTimeout(timer);
  stopAgents();
  stopCustomers();

  // Scored as an analyst would: the command reads the status deliveries and the session events from the store.
  const cli = new URL('../tools/parley-cli/bin/parley.mjs', import.meta.url).pathname;
  const scored = await runNode(cli, ['estimates', '--json', '--quiet', '--since', since, '--percent-floor', String(PERCENT_FLOOR), '--nats-url', stack.nats.url]);
  await stack.stop();
  if (scored.code !== 0) {
    process.stderr.write(scored.stderr);
    process.exit(1);
  }
  const { overall } = JSON.parse(scored.stdout);
  const lines = [
    `workload: ${real.hours} h of a chat contact center at ${SCALE}x (seed ${real.seed}): ${arrivals.length} arrivals over ${real.queues.length} queues, ${roster.length} agents`,
    `          of capacity ${real.capacity} (staggered shifts), log-normal handle times (median ${real.medianHandleSeconds} s, sigma ${real.handleSigma}), wrap-up ${real.wrapUpSeconds} s,`,
    `          offers accepted after ${real.acceptDelaySeconds} s, mean patience ${real.meanPatienceSeconds} s; statuses every ${STATUS_INTERVAL_SECONDS} s (30 s real) and on each change`,
    `run: ${counts.arrived} customers, ${counts.assigned} answered, ${counts.abandoned} gave up, ${counts.errors} errors`,
    '',
    `parley estimates (real stack; seconds below are run seconds, x${SCALE} for the real day's):`,
    formatEstimateScore(overall).trimEnd(),
    '',
    `the what-if simulator on the same workload predicted: median abs % error ${(predicted.medianAbsolutePercentageError * 100).toFixed(1)}%, range held ${(predicted.rangeHit * 100).toFixed(1)}% (${predicted.scored} scored)`,
    `targets: median abs % error <= 25% (${overall.medianAbsolutePercentageError <= 0.25 ? 'met' : 'NOT met'}), ranges hold the actual wait >= 80% (${overall.rangeHit >= 0.8 ? 'met' : 'NOT met'})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify({ workload: real, scale: SCALE, counts, overall, predicted }, null, 2));
  process.exit(0);
}
