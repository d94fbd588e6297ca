#!/usr/bin/env node
// The most events per second Parley's event topology can carry on this machine whatever its services do: the same
// acked publishes as the raw ceiling, each followed by consumers that do nothing but take it (and acknowledge it,
// for a durable one), every consumer on a thread of its own as every service is a process of its own. Measured in
// one run on one fresh nats-server, one configuration after the other, each on a fresh stream:
//   raw                      acked publishes, no consumer (bench:e2e's "raw JetStream ceiling")
//   1 durable                + one durable consumer, an explicit acknowledgement per message
//   3 durables               + three (Parley: 2.8 durable deliveries per event, buffer, router, presence-proxy)
//   3 durables, 2 tails      + two ordered tails without acknowledgement (Parley: the router's and reporting's views)
//   …, and deliveries        + a delivery stored for four events of five by the first durable before it
//                              acknowledges (buffer: 0.8 per event), taken by one more tail (customers and agents)
// An event counts once every consumer has taken it. The ratio of the last row to the first is what Parley would reach
// with services that cost nothing; issue 10 asks for 0.5 with the services doing their work.
// Usage: npm run bench:floor [-- --messages 20000 --runs 2 --svg docs/img/bench-floor.svg]
// --svg FILE: the last run as a bar chart, with issue 10's goal (half of raw) marked.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildOnce, done, libs, status, topologyFloor } from './bench-stack.mjs';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, runs: { type: 'string', default: '2' }, svg: { type: 'string' } } });
const N = Number(values.messages);
const RUNS = Number(values.runs);
const CONFIGS = [
  { label: 'raw (no consumer)', durables: 0, tails: 0 },
  { label: '1 durable', durables: 1, tails: 0 },
  { label: '3 durables', durables: 3, tails: 0 },
  { label: '3 durables, 2 tails', durables: 3, tails: 2 },
  { label: '…, and deliveries', durables: 3, tails: 2, deliveries: true },
];

buildOnce();
const { startNatsServer, connect } = await libs();
const nats = await startNatsServer();
const nc = await connect({ servers: nats.url, name: 'bench-floor' });

const results = [];
for (let run = 1; run <= RUNS; run++) {
  for (const config of CONFIGS) {
    status(`run ${run} of ${RUNS}: ${config.label} ...`);
    results.push({ run, ...config, ...(await topologyFloor(nc, { natsPid: nats.pid, natsUrl: nats.url, messages: N, ...config })) });
  }
}
done();
await nc.close();
await nats.stop();

console.log(`\nParley's event topology with consumers that do nothing (${N.toLocaleString('en')} acked publishes of 400 bytes, 1,000 in flight, each run on a fresh stream):`);
for (let run = 1; run <= RUNS; run++) {
  const rows = results.filter((r) => r.run === run);
  const raw = rows[0].rate;
  console.log(`run ${run}:`);
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(22)} ${Math.round(r.rate).toLocaleString('en').padStart(7)} events/s taken by every consumer (published at ${Math.round(r.publishRate).toLocaleString('en')}/s)  ratio to raw ${(r.rate / raw).toFixed(2)}   CPU per event (nats-server and every consumer) ${r.cpuMs.toFixed(3)} ms`,
    );
  }
}
if (values.svg) {
  writeFileSync(values.svg, floorChart(results.filter((r) => r.run === RUNS)));
  console.log(`chart written to ${values.svg}`);
}
process.exit(0);

/** One run as horizontal bars (events/s, ratio to raw), with a line at half of raw: issue 10's goal. */
function floorChart(rows) {
  const raw = rows[0].rate;
  const left = 190;
  const width = 440;
  const x = (rate) => left + Math.round((rate / raw) * width);
  const bars = rows
    .map((r, i) => {
      const y = 48 + i * 40;
      return `<text x="10" y="${y + 18}" font-size="13">${r.label}</text><rect x="${left}" y="${y + 4}" width="${x(r.rate) - left}" height="22" fill="${i === 0 ? '#8da0cb' : '#66c2a5'}"/><text x="${x(r.rate) + 6}" y="${y + 20}" font-size="13">${Math.round(r.rate).toLocaleString('en')}/s · ${(r.rate / raw).toFixed(2)} of raw</text>`;
    })
    .join('');
  const bottom = 48 + rows.length * 40;
  const goal = x(raw / 2);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="${bottom + 30}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">Events/s with consumers that do nothing, beside raw JetStream (one run, one nats-server)</text>${bars}<line x1="${goal}" y1="40" x2="${goal}" y2="${bottom}" stroke="#d62728" stroke-dasharray="5,4"/><text x="${goal + 4}" y="${bottom + 18}" font-size="12" fill="#d62728">issue 10's goal: 0.5 of raw, with the services doing their work</text></svg>\n`;
}
