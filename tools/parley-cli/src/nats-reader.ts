import { readFileSync } from 'node:fs';
import { DeliverPolicy, JetStreamApiError, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  type Authenticator,
  type Msg,
  type NatsConnection,
  connect,
  createInbox,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from '@nats-io/transport-node';
import { CliError } from './cli-errors.js';

export interface ConnectionOptions {
  natsUrl?: string;
  creds?: string;
}

/** Connects with the analyst's (read-only) credentials: a creds file, a user and password, or a token. */
export async function connectNats(o: ConnectionOptions): Promise<NatsConnection> {
  const servers = o.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const creds = o.creds ?? process.env.NATS_CREDS;
  let authenticator: Authenticator | undefined;
  if (creds) {
    let text: Uint8Array;
    try {
      text = readFileSync(creds);
    } catch (err) {
      throw new CliError(`cannot read the credentials file ${creds}: ${(err as Error).message}`);
    }
    authenticator = credsAuthenticator(text);
  } else if (process.env.NATS_NKEY_SEED_FILE) {
    let seed: string;
    try {
      seed = readFileSync(process.env.NATS_NKEY_SEED_FILE, 'utf8').trim();
    } catch (err) {
      throw new CliError(`cannot read the nkey seed file ${process.env.NATS_NKEY_SEED_FILE}: ${(err as Error).message}`);
    }
    authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  } else if (process.env.NATS_USER) authenticator = usernamePasswordAuthenticator(process.env.NATS_USER, process.env.NATS_PASSWORD ?? '');
  else if (process.env.NATS_TOKEN) authenticator = tokenAuthenticator(process.env.NATS_TOKEN);
  // The user's permissions allow replies on its own inbox prefix only (infra/nats/permissions.conf).
  const inboxPrefix = process.env.NATS_INBOX_PREFIX;
  try {
    return await connect({ servers, name: 'parley-cli', maxReconnectAttempts: 10, ...(authenticator ? { authenticator } : {}), ...(inboxPrefix ? { inboxPrefix } : {}) });
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${servers}: ${(err as Error).message}`);
  }
}

export interface StreamReadOptions {
  stream: string;
  /** Only messages whose subject starts with this (filtered here: the read covers the whole stream, see below). */
  subjectPrefix: string;
  fromSeq?: number | null;
  sinceMs?: number | null;
  /** Stop once the stream's own timestamps pass this instant (the events' instants are filtered exactly later). */
  stopAfterMs?: number | null;
  /** Keep tailing new messages instead of ending at the stream's end as it was at the start. */
  follow?: boolean;
  /** Called with the number of messages expected (null when following). */
  onTotal?: (total: number | null) => void;
  signal?: AbortSignal;
  /**
   * `consumer`: an ordered consumer (fast; needs consumer-create rights, which an analyst does not have);
   * `get`: message by message with the stream's read-only get API (no consumer at all: what an analyst may do);
   * `auto` (default, or PARLEY_READ): the consumer, and `get` when the server refuses the consumer.
   */
  mode?: 'auto' | 'consumer' | 'get';
}

/** One stored message; the callback must not keep `data` beyond the call. */
export type OnMessage = (subject: string, seq: number, timestampMs: number, data: Uint8Array) => void;

/**
 * Reads a stream through an ordered consumer (client-side, no durable state on the server, no acks: nothing the
 * tool does changes Parley), or, where the user may not create consumers (an analyst), by the stream's get API.
 * Ends at the stream's last message as it was when the read began, unless following.
 * A synchronous callback per message, not an async iterator: a million messages cost no million promises.
 */
export async function readStream(nc: NatsConnection, o: StreamReadOptions, onMessage: OnMessage): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let lastSeq: number;
  let firstSeq: number;
  let allowDirect: boolean;
  try {
    const info = await jsm.streams.info(o.stream);
    lastSeq = info.state.last_seq;
    firstSeq = info.state.first_seq;
    allowDirect = !!info.config.allow_direct;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404)
      throw new CliError(`stream ${o.stream} not found on this NATS server (is this Parley's NATS? check NATS_URL / --nats-url and --stream)`);
    throw new CliError(`cannot read stream ${o.stream}: ${(err as Error).message}`);
  }
  const from = Math.max(o.fromSeq ?? 1, firstSeq);
  if (!o.follow && (lastSeq === 0 || from > lastSeq)) {
    o.onTotal?.(0);
    return;
  }
  const mode = o.mode ?? (process.env.PARLEY_READ as StreamReadOptions['mode'] | undefined) ?? 'auto';
  if (mode === 'get') return readByGet(nc, o, from, lastSeq, allowDirect, onMessage);
  try {
    await readByConsumer(nc, o, from, lastSeq, onMessage);
  } catch (err) {
    if (mode === 'auto' && err instanceof ConsumerRefused) return readByGet(nc, o, from, lastSeq, allowDirect, onMessage);
    throw err;
  }
}

/** The server refused to create the read's consumer (the user may not): nothing was read yet. */
class ConsumerRefused extends Error {}

const isPermissionError = (err: unknown): boolean => {
  for (let e = err as { message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (/permission/i.test(String(e.message ?? ''))) return true;
  }
  return false;
};

async function readByConsumer(nc: NatsConnection, o: StreamReadOptions, from: number, lastSeq: number, onMessage: OnMessage): Promise<void> {
  const js = jetstream(nc);
  const start =
    o.fromSeq != null && o.fromSeq > 1
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.fromSeq }
      : o.sinceMs != null
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.sinceMs).toISOString() }
        : { deliver_policy: DeliverPolicy.All };
  // No server-side filter: the read ends at the stream's last sequence as it was at the start, which is exact only
  // when every message counts (nats-server 2.9 under-reports a filtered consumer's pending from a start sequence).
  let consumer: Awaited<ReturnType<typeof js.consumers.get>>;
  let messages: Awaited<ReturnType<typeof consumer.consume>>;
  try {
    consumer = await js.consumers.get(o.stream, start);
    messages = await consumer.consume({ max_messages: 20_000 });
  } catch (err) {
    throw isPermissionError(err) ? new ConsumerRefused(String(err)) : err;
  }
  const abort = () => messages.stop();
  o.signal?.addEventListener('abort', abort);
  try {
    if (!o.follow) {
      const info = await consumer.info().catch((err: unknown) => {
        throw isPermissionError(err) ? new ConsumerRefused(String(err)) : err;
      });
      const pending = info.num_pending + info.delivered.consumer_seq;
      o.onTotal?.(o.sinceMs != null && o.fromSeq == null ? pending : lastSeq - from + 1);
      if (pending === 0) return;
    } else o.onTotal?.(null);
    const place = { seq: 0, timestampMs: 0 };
    for await (const m of messages as AsyncIterable<JsMsg>) {
      if (!parseAckSubject((m as JsMsg & { reply?: string }).reply ?? '', place)) {
        place.seq = m.seq;
        place.timestampMs = Math.floor(Number(m.info.timestampNanos) / 1e6);
      }
      if (o.stopAfterMs != null && place.timestampMs > o.stopAfterMs) break;
      if (m.subject.startsWith(o.subjectPrefix)) onMessage(m.subject, place.seq, place.timestampMs, m.data);
      if (!o.follow && place.seq >= lastSeq) break;
    }
  } finally {
    o.signal?.removeEventListener('abort', abort);
    messages.stop();
  }
}

/**
 * The stream sequence and timestamp from a JetStream ack subject, without splitting it into a dozen strings per
 * message (the client's own parser does): `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`,
 * or with `<domain>.<account>.` after ACK and `.<random>` at the end. False when the shape is not recognised.
 */
export function parseAckSubject(reply: string, out: { seq: number; timestampMs: number }): boolean {
  const dots: number[] = [];
  for (let i = reply.indexOf('.'); i >= 0; i = reply.indexOf('.', i + 1)) dots.push(i);
  let sseqToken: number;
  if (dots.length === 8) sseqToken = 5;
  else if (dots.length === 11 || dots.length === 10) sseqToken = 7;
  else return false;
  const field = (token: number) => reply.slice(dots[token - 1]! + 1, token < dots.length ? dots[token]! : reply.length);
  const seq = Number(field(sseqToken));
  const ts = Number(field(sseqToken + 2));
  if (!Number.isFinite(seq) || !Number.isFinite(ts)) return false;
  out.seq = seq;
  out.timestampMs = Math.floor(ts / 1e6);
  return true;
}

/** Requests in flight while reading message by message: enough to keep nats-server busy, few enough to stay small. */
const GET_WINDOW = 512;
const FOLLOW_POLL_MS = 250;
const GET_STALL_MS = 30_000;

/**
 * Reads a stream without any consumer: each message by sequence through the stream's get API (`DIRECT.GET` when
 * the stream allows direct gets, else `STREAM.MSG.GET`), many requests in flight, handed on in sequence order.
 * This needs only read rights (an analyst's: infra/nats/templates/analyst.conf). Sequences that are gone (deleted
 * or expired) are passed over. `--since` starts at the first message stored at or after it, found by bisection.
 */
async function readByGet(nc: NatsConnection, o: StreamReadOptions, from: number, lastSeq: number, direct: boolean, onMessage: OnMessage): Promise<void> {
  const api = direct ? `$JS.API.DIRECT.GET.${o.stream}` : `$JS.API.STREAM.MSG.GET.${o.stream}`;
  const inbox = createInbox((nc as NatsConnection & { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
  type Got = { subject: string; timestampMs: number; data: Uint8Array } | null;
  const decode = (m: Msg): Got => {
    if (direct) {
      const h = m.headers;
      if (!h || h.hasError || !h.get('Nats-Subject')) return null;
      return { subject: h.get('Nats-Subject'), timestampMs: Date.parse(h.get('Nats-Time-Stamp')), data: m.data };
    }
    const r = m.json<{ message?: { subject: string; time: string; data?: string }; error?: unknown }>();
    if (!r.message) return null;
    return { subject: r.message.subject, timestampMs: Date.parse(r.message.time), data: Buffer.from(r.message.data ?? '', 'base64') };
  };
  const getOne = async (seq: number): Promise<Got> => {
    try {
      return decode(await nc.request(api, JSON.stringify({ seq }), { timeout: 10_000 }));
    } catch (err) {
      if (isPermissionError(err)) throw new CliError(`not allowed to read stream ${o.stream} with these credentials (neither a consumer nor ${api}): ${(err as Error).message}`);
      throw new CliError(`cannot read stream ${o.stream}: ${(err as Error).message}`);
    }
  };
  // One request first: a publish the server refuses is only reported on the side, so the pipelined reads below
  // would wait for answers that never come; a request is refused at once.
  await getOne(from);

  let start = from;
  if (o.sinceMs != null && (o.fromSeq == null || o.fromSeq <= 1)) {
    // Stored instants only grow with the sequence: bisect for the first at or after `since`.
    let lo = from;
    let hi = lastSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      let probe = mid;
      let got: Got = null;
      while (probe < hi && (got = await getOne(probe)) === null) probe++;
      if (got === null || got.timestampMs >= o.sinceMs) hi = mid;
      else lo = probe + 1;
    }
    start = lo;
  }
  o.onTotal?.(o.follow ? null : Math.max(0, lastSeq - start + 1));

  let stopped = false;
  const abort = () => (stopped = true);
  o.signal?.addEventListener('abort', abort);
  try {
    let next = start;
    let end = lastSeq;
    for (;;) {
      if (next <= end) {
        const done = await readRange(next, end);
        if (done === 'stop') return;
        next = end + 1;
      }
      if (!o.follow || stopped) return;
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      if (stopped) return;
      end = (await jetstreamManager(nc).then((j) => j.streams.info(o.stream))).state.last_seq;
    }
  } finally {
    o.signal?.removeEventListener('abort', abort);
  }

  /** [first, last] in order; 'stop' when the read should end (past `stopAfterMs`, or aborted). */
  function readRange(first: number, last: number): Promise<'stop' | 'more'> {
    return new Promise((resolve, reject) => {
      const held = new Map<number, Got>();
      let asked = first;
      let handed = first;
      let finished = false;
      const finish = (r: 'stop' | 'more' | Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(stall);
        sub.unsubscribe();
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      // No answer for this long (the connection lost, the server gone quiet): give up rather than hang.
      let stall: ReturnType<typeof setTimeout> | undefined;
      const watch = () => {
        clearTimeout(stall);
        stall = setTimeout(() => finish(new CliError(`reading stream ${o.stream} stalled: no answer from NATS for ${GET_STALL_MS / 1000} s`)), GET_STALL_MS);
      };
      const ask = () => {
        while (!finished && asked <= last && asked - handed < GET_WINDOW) {
          nc.publish(api, JSON.stringify({ seq: asked }), { reply: `${inbox}.${asked}` });
          asked++;
        }
      };
      const sub = nc.subscribe(`${inbox}.*`, {
        callback: (err, m) => {
          if (finished) return;
          watch();
          if (err) return finish(isPermissionError(err) ? new CliError(`not allowed to read stream ${o.stream}: ${err.message}`) : err);
          try {
            const seq = Number(m.subject.slice(inbox.length + 1));
            held.set(seq, decode(m));
            for (let got = held.get(handed); held.has(handed); got = held.get(handed)) {
              held.delete(handed);
              if (got) {
                if (o.stopAfterMs != null && got.timestampMs > o.stopAfterMs) return finish('stop');
                if (got.subject.startsWith(o.subjectPrefix)) onMessage(got.subject, handed, got.timestampMs, got.data);
              }
              handed++;
            }
            if (stopped) return finish('stop');
            if (handed > last) return finish('more');
            ask();
          } catch (e) {
            finish(e as Error);
          }
        },
      });
      watch();
      ask();
    });
  }
}
