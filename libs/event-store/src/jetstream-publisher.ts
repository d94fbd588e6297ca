import { JetStreamApiError, JetStreamError, type PubAck } from '@nats-io/jetstream';
import { type Msg, type MsgHdrs, type NatsConnection, type Status, type Subscription, createInbox, headers as newHeaders } from '@nats-io/transport-node';

export interface PublishOptions {
  /** `Nats-Msg-Id`: a repeat within the stream's duplicate window is stored once. */
  msgID?: string;
  /** Optimistic concurrency: the subject's last sequence the publish expects (0: none yet). */
  expect?: { lastSubjectSequence?: number };
  /** Headers to send with the message (trace context, for instance); the two above are added to them. */
  headers?: MsgHdrs;
}

/** A publish that got no acknowledgement in time: JetStream may or may not have stored it. */
export class PublishTimeoutError extends JetStreamError {
  constructor(subject: string, timeoutMs: number) {
    super(`no JetStream acknowledgement for a publish to ${subject} within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/**
 * The connection to nats-server dropped while the publish waited for its acknowledgement: the reply can no longer
 * come (it was addressed to the lost connection), so the caller hears it now rather than at the timeout. JetStream
 * may have stored the message; a retry with the same `msgID` is stored once.
 */
export class PublishInterruptedError extends JetStreamError {
  constructor(subject: string) {
    super(`the connection to nats-server dropped before JetStream acknowledged a publish to ${subject}`);
    this.name = 'PublishInterruptedError';
  }
}

/** No stream takes the subject, or JetStream is not running (nats-server answered 503, no responders). */
export class NoStreamForSubjectError extends JetStreamError {
  constructor(subject: string) {
    super(`no JetStream stream answers for ${subject}`);
    this.name = 'NoStreamForSubjectError';
  }
}

interface Pending {
  subject: string;
  deadline: number;
  resolve(ack: PubAck): void;
  reject(err: Error): void;
}

interface AckReply {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  domain?: string;
  error?: { code: number; err_code: number; description: string };
}

const decoder = new TextDecoder();

/**
 * How long a publish waits for its acknowledgement. A stream with a leader acknowledges within milliseconds (tens
 * under load); a publish that waits longer went to a leader that died or to one not yet accepting, and its retry
 * (idempotent: the same message ID) reaches the new leader. nats.js's 5 s was spent waiting after each lost node.
 */
export const PUBLISH_TIMEOUT_MS = 2_500;

/**
 * Acknowledged JetStream publishes with one reply subscription for all of them, what `js.publish` does with one
 * request (its own promise, timer and cancellation error) each. On the event path every event and every delivery
 * is such a publish; per publish, nats.js's request built a timer and a stack-captured `RequestError` that it
 * throws away, about a tenth of a service's CPU at saturation. Here a publish is a map entry, its reply resolves it
 * by token, and one sweep a quarter second times out the ones left unanswered. Errors are nats.js's own classes
 * (`JetStreamApiError` with the server's code), so callers match them as they would `js.publish`'s.
 */
export class JetStreamPublisher {
  private readonly pending = new Map<string, Pending>();
  private readonly prefix: string;
  private readonly subscription: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;
  /** The connection's status events, stopped with the publisher (each publisher listens on its own). */
  private readonly statuses: AsyncIterable<Status> & { stop(): void };

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = PUBLISH_TIMEOUT_MS,
  ) {
    // The connection's inbox prefix: a user's permissions allow replies only under their own (docs/security.md).
    const inboxPrefix = (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.prefix = `${createInbox(inboxPrefix)}.`;
    this.subscription = nc.subscribe(`${this.prefix}*`, { callback: (err, m) => (err ? this.failAll(err) : this.settle(m)) });
    this.sweep = setInterval(() => this.expire(), Math.min(250, timeoutMs)).unref();
    this.statuses = nc.status() as AsyncIterable<Status> & { stop(): void };
    void this.watchConnection();
  }

  /** A dropped connection loses every reply in flight: fail those publishes at once (a node lost, a restart). */
  private async watchConnection(): Promise<void> {
    for await (const status of this.statuses) {
      if (status.type !== 'disconnect') continue;
      for (const [token, p] of this.pending) {
        this.pending.delete(token);
        p.reject(new PublishInterruptedError(p.subject));
      }
    }
  }

  publish(subject: string, payload: string | Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    const h = options.headers ?? newHeaders();
    if (options.msgID !== undefined) h.set('Nats-Msg-Id', options.msgID);
    if (options.expect?.lastSubjectSequence !== undefined) h.set('Nats-Expected-Last-Subject-Sequence', String(options.expect.lastSubjectSequence));
    const token = (this.next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.pending.set(token, { subject, deadline: performance.now() + this.timeoutMs, resolve, reject });
      try {
        // Throws at once on a closed connection, as a request would.
        this.nc.publish(subject, payload, { reply: this.prefix + token, headers: h });
      } catch (err) {
        this.pending.delete(token);
        reject(err as Error);
      }
    });
  }

  /** Rejects what is still waiting and stops listening (the connection stays open). */
  close(): void {
    this.statuses.stop();
    clearInterval(this.sweep);
    this.subscription.unsubscribe();
    this.failAll(new JetStreamError('publisher closed'));
  }

  private settle(m: Msg): void {
    const token = m.subject.slice(this.prefix.length);
    const p = this.pending.get(token);
    if (!p) return; // timed out already: the caller was told
    this.pending.delete(token);
    if (m.headers?.code === 503) {
      p.reject(new NoStreamForSubjectError(p.subject));
      return;
    }
    let reply: AckReply;
    try {
      reply = JSON.parse(decoder.decode(m.data)) as AckReply;
    } catch {
      p.reject(new JetStreamError(`unreadable JetStream acknowledgement for ${p.subject}`));
      return;
    }
    if (reply.error) {
      p.reject(new JetStreamApiError(reply.error));
      return;
    }
    if (!reply.stream || typeof reply.seq !== 'number') {
      p.reject(new JetStreamError('invalid ack response'));
      return;
    }
    p.resolve({ stream: reply.stream, seq: reply.seq, duplicate: reply.duplicate ?? false, domain: reply.domain ?? '' });
  }

  private expire(): void {
    const now = performance.now();
    for (const [token, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(token);
      p.reject(new PublishTimeoutError(p.subject, this.timeoutMs));
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
