import type { NatsConnection } from '@nats-io/transport-node';

/** The parts of nats.js's protocol handler (nats-core 3.x) that schedule writes to the socket. */
interface ProtocolWrites {
  outbound: { size(): number; fill(buf: Uint8Array, ...payloads: Uint8Array[]): number };
  pendingLimit: number;
  flushPending(): void;
  sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void;
}

function isProtocolWrites(p: unknown): p is ProtocolWrites {
  const candidate = p as Partial<ProtocolWrites> | undefined;
  return (
    typeof candidate?.sendCommand === 'function' &&
    typeof candidate.flushPending === 'function' &&
    typeof candidate.pendingLimit === 'number' &&
    typeof candidate.outbound?.fill === 'function' &&
    typeof candidate.outbound.size === 'function'
  );
}

const encoder = new TextEncoder();

/**
 * Makes the client write to its socket once per turn of the event loop instead of once per microtask burst.
 *
 * nats.js flushes its outbound buffer in a microtask queued by the first command after a flush. A service
 * handling a batch of JetStream deliveries acks, publishes and replies from many promise continuations, so the
 * flush runs between them and the batch leaves as dozens of small socket writes: on two cores the `write`
 * syscalls were 12–16% of buffer's and router's CPU, and nats-server reads each one. Deferring the flush to
 * `setImmediate` (after the current I/O callbacks and every microtask they queue) sends the batch as one write.
 * Order is kept (one buffer, one socket); a full buffer (`pendingLimit`) still flushes at once; the added
 * latency is the rest of the current loop turn. Returns false, changing nothing, on a client whose internals
 * differ (a test pins the version's shape).
 */
export function coalesceWrites(nc: NatsConnection): boolean {
  const protocol = (nc as unknown as { protocol?: unknown }).protocol;
  if (!isProtocolWrites(protocol)) return false;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    protocol.flushPending();
  };
  protocol.sendCommand = (cmd, ...payloads) => {
    protocol.outbound.fill(typeof cmd === 'string' ? encoder.encode(cmd) : cmd, ...payloads);
    if (protocol.outbound.size() >= protocol.pendingLimit) {
      protocol.flushPending();
    } else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return true;
}
