// bench:e2e's scripted agents, on a thread of their own with their own NATS connection, as agents' desktops are
// other programs than customers' clients: each side takes its times on an event loop that runs only its own work,
// so what the benchmark measures is Parley's delay, not the wait for a loop that also runs 200 customers.
// Accepts every offer and echoes every customer line, stamping the echo with when it was sent; a customer line
// carries when the customer sent it. Times are process.hrtime (one monotonic clock for every thread).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { libs } from './bench-stack.mjs';

const clock = () => Number(process.hrtime.bigint()) / 1e6;
const { connect, jetstream, DeliverPolicy } = await libs();
const nc = await connect({ servers: workerData.url, name: 'bench-agents' });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

let measuring = false;
let relayed = 0;
let errors = 0;
/** Customer → agent latencies of the window: [seen at, latency] in ms. */
let seen = [];

async function request(subject, payload) {
  const reply = (await nc.request(subject, JSON.stringify(payload), { timeout: 10_000 })).json();
  if (reply?.error) throw new Error(`${subject}: ${reply.error.code}: ${reply.error.message}`);
  return reply;
}

const consumer = await jetstream(nc).consumers.get('PARLEY_DELIVERIES', { filter_subjects: 'parley.v1.agent.deliver.>', deliver_policy: DeliverPolicy.New });
const messages = await consumer.consume({ max_messages: 5_000 });
void (async () => {
  for await (const m of messages) {
    const agentId = m.subject.split('.').at(-1);
    const d = m.json();
    if (d.kind === 'offer') {
      request('parley.v1.agent.offer.accept', { agentId, offerId: d.offerId }).catch(() => errors++);
    } else if (d.kind === 'message' && d.author === 'customer') {
      relayed++;
      const t = clock();
      // `<session>:<n>@<sent at>`; the first line of a session has no time (it waited in the queue for an offer).
      const at = d.body.lastIndexOf('@');
      if (at > 0 && measuring) seen.push([t, t - Number(d.body.slice(at + 1))]);
      const key = at > 0 ? d.body.slice(0, at) : d.body;
      request('parley.v1.agent.message', { agentId, sessionId: d.sessionId, messageId: `e-${d.deliveryId}`.slice(0, 128), body: `echo:${key}@${clock()}` }).catch(() => errors++);
    }
  }
})();

parentPort.on('message', async (command) => {
  switch (command.type) {
    case 'start-window':
      measuring = true;
      relayed = 0;
      seen = [];
      loop.reset();
      parentPort.postMessage({ type: 'window-started' });
      break;
    case 'end-window':
      measuring = false;
      parentPort.postMessage({ type: 'window', relayed, errors, seen, loop: { p99: Math.max(0, loop.percentile(99) / 1e6 - 10), max: Math.max(0, loop.max / 1e6 - 10) } });
      break;
    case 'relayed':
      parentPort.postMessage({ type: 'relayed', relayed });
      break;
    case 'stop':
      messages.stop();
      await nc.close();
      parentPort.close();
      break;
  }
});
parentPort.postMessage({ type: 'ready' });
