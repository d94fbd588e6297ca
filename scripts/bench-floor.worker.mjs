// bench:floor's consumers (and bench:e2e's same-run floor): one consumer that does nothing but take each message (and
// acknowledge it, for a durable one), on a thread of its own as each Parley service is a process of its own.
import { parentPort, workerData } from 'node:worker_threads';
import { FLOOR_MAX_ACK_PENDING as MAX_ACK_PENDING, libs } from './bench-stack.mjs';

const { connect, jetstream, jetstreamManager, AckPolicy } = await libs();
const { url, stream, kind, name, messages, deliverTo } = workerData;
const nc = await connect({ servers: url, name: `floor-${name}` });
const js = jetstream(nc);
let taken = 0;
/** Deliveries stored and not yet acknowledged by the server: the worker is done only after them. */
const storing = new Set();
if (kind === 'durable') {
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.Explicit, max_ack_pending: MAX_ACK_PENDING, ack_wait: 5_000_000_000 });
  const consumer = await js.consumers.get(stream, name);
  parentPort.postMessage({ ready: true });
  // Bounded pulls one after the other, as Parley's durables take them; the last one is left as soon as every
  // message is in (waiting for its expiry would be counted as time the consumer took).
  while (taken < messages) {
    for await (const m of await consumer.fetch({ max_messages: MAX_ACK_PENDING, expires: 2_000 })) {
      // As buffer does for a chat message: a delivery stored (acked) before the event is acknowledged.
      if (deliverTo && m.seq % 5 !== 0) {
        const stored = js.publish(`${deliverTo}.${m.subject}`, m.data, { msgID: `d-${m.seq}` }).then(
          () => m.ack(),
          () => m.nak(),
        );
        storing.add(stored);
        void stored.finally(() => storing.delete(stored));
      } else m.ack();
      if (++taken === messages) break;
    }
  }
} else {
  const consumer = await js.consumers.get(deliverTo ? `${stream}_D` : stream);
  const iter = await consumer.consume({ max_messages: 2_000, expires: 4_000 });
  parentPort.postMessage({ ready: true });
  for await (const _m of iter) if (++taken === messages) break;
}
await Promise.all(storing);
await nc.flush();
parentPort.postMessage({ done: true });
await nc.close();
