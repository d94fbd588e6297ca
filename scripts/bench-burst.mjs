#!/usr/bin/env node
// Bursts of customers subscribing at once to one published address, on the whole stack: every one must be
// answered `available`. Prints each burst's answer times (p50/p99) and the JetStream API requests it cost.
// The goal the load test set: 200 at once all available with p99 <= 250 ms; 1,000 at once all available.
// Usage: npm run bench:burst [-- --customers 200,1000]
import { parseArgs } from 'node:util';
import { ENTRY, buildOnce, jsApiTotal, ms, pct, registerCenter, startStack } from './bench-stack.mjs';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '200,1000' }, services: { type: 'string' }, json: { type: 'string' } } });
const BURSTS = values.customers.split(',').map(Number);

buildOnce();
const stack = await startStack(values.services ? { services: values.services.split(',') } : {});
await registerCenter(stack, 10, 2);
const results = [];
let n = 0;
for (const customers of BURSTS) {
  const api0 = await jsApiTotal(stack.nats);
  const outcomes = new Map();
  const times = [];
  const started = performance.now();
  const burst = ++n;
  await Promise.all(
    Array.from({ length: customers }, async (_, i) => {
      const t = performance.now();
      let outcome;
      try {
        const reply = await stack.request('parley.v1.im.subscribe', { channel: 'burst', from: `burst${burst}-${i}@customers.example`, to: ENTRY.address }, 30_000);
        outcome = reply.status === 'available' ? 'available' : `${reply.status}:${reply.reason}`;
      } catch (err) {
        outcome = err.code ?? err.message;
      }
      times.push(performance.now() - t);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }),
  );
  const wall = performance.now() - started;
  const api = (await jsApiTotal(stack.nats)) - api0;
  times.sort((a, b) => a - b);
  const result = { customers, available: outcomes.get('available') ?? 0, outcomes: Object.fromEntries(outcomes), p50: pct(times, 50), p99: pct(times, 99), wall, api };
  results.push(result);
  process.stdout.write(
    [
      '',
      `${customers} customers subscribing at once: ${result.available} available (${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')})`,
      `  answer time p50 ${ms(result.p50)}, p99 ${ms(result.p99)}, max ${ms(times.at(-1))}; whole burst ${ms(wall)}`,
      `  JetStream API requests during the burst: ${api} (${(api / customers).toFixed(2)} per subscribe)`,
      '',
    ].join('\n'),
  );
}
await stack.stop();
if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify(results, null, 2));
process.exit(results.every((r) => r.available === r.customers) ? 0 : 1);
