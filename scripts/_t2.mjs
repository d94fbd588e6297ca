import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '@parley/testing';
const n = await startNatsServer();
const nc = await connect({ servers: n.url, noAsyncTraces: true });
const kv = await new Kvm(nc).create('t', { history: 1 });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: 'E', subjects: ['e.>'] });
const js = jetstream(nc);
const time = async (label, f) => {
  const ts = [];
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    await f(i);
    ts.push((performance.now() - t).toFixed(1));
  }
  console.log(label, ts.join(' '));
};
await time('kv.create', (i) => kv.create(`k${i}`, 'v'));
await time('kv.create2', (i) => kv.create(`j${i}`, 'v'));
await time('js.publish', (i) => js.publish(`e.${i}`, 'x'));
await time('js.publish expect', (i) => js.publish(`e.n${i}`, 'x', { expect: { lastSubjectSequence: 0 } }));
await nc.close();
await n.stop();
