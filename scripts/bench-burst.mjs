#!/usr/bin/env node
// A burst of customers subscribing at once to one published address, on the whole stack: every one must be
// answered `available`; prints the answer times (p50/p99) and the JetStream API requests the burst cost.
// Usage: npm run bench:burst [-- --customers 1000]
import { parseArgs } from 'node:util';
import { ENTRY, buildOnce, jsApiTotal, ms, pct, registerCenter, startStack } from './bench-stack.mjs';

const { values } = parseArgs({ options: { customers: { type: 'string', default: '1000' }, services: { type: 'string' }, json: { type: 'string' } } });
const CUSTOMERS = Number(values.customers);

buildOnce();
const stack = await startStack(values.services ? { services: values.services.split(',') } : {});
await registerCenter(stack, 10, 2);
const api0 = await jsApiTotal(stack.nats);
const outcomes = new Map();
const times = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: CUSTOMERS }, async (_, i) => {
    const t = performance.now();
    let outcome;
    try {
      const reply = await stack.request('parley.v1.im.subscribe', { channel: 'burst', from: `burst-${i}@customers.example`, to: ENTRY.address }, 30_000);
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
await stack.stop();
times.sort((a, b) => a - b);
const available = outcomes.get('available') ?? 0;
process.stdout.write(
  [
    '',
    `${CUSTOMERS} customers subscribing at once: ${available} available (${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `answer time p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))}, max ${ms(times.at(-1))}; whole burst ${ms(wall)} (goal: all available, p99 <= 250 ms)`,
    `JetStream API requests during the burst: ${api} (${(api / CUSTOMERS).toFixed(2)} per subscribe)`,
    '',
  ].join('\n'),
);
if (values.json) (await import('node:fs')).writeFileSync(values.json, JSON.stringify({ customers: CUSTOMERS, outcomes: Object.fromEntries(outcomes), p50: pct(times, 50), p99: pct(times, 99), api }, null, 2));
process.exit(available === CUSTOMERS ? 0 : 1);
