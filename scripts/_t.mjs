import { ENTRY, registerCenter, startStack } from './bench-stack.mjs';
const stack = await startStack({ services: ['registration', 'presence-proxy'] });
await registerCenter(stack, 10, 2);
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await stack.request('parley.v1.registration.lookup', { address: ENTRY.address });
  console.log('lookup', (performance.now() - t).toFixed(1));
}
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await stack.request('parley.v1.im.subscribe', { channel: 'x', from: `a${i}@c.example`, to: ENTRY.address });
  console.log('subscribe', (performance.now() - t).toFixed(1));
}
for (const n of [10, 50, 200]) {
  const t = performance.now();
  const times = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await stack.request('parley.v1.im.subscribe', { channel: 'x', from: `b${n}-${i}@c.example`, to: ENTRY.address });
      return performance.now() - t;
    }),
  );
  times.sort((a, b) => a - b);
  console.log(n, 'first', times[0].toFixed(0), 'last', times.at(-1).toFixed(0));
}
await stack.stop();
process.exit(0);
