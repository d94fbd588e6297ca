import { readFileSync } from 'node:fs';
import { DeliverPolicy, JetStreamApiError, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type Authenticator, type NatsConnection, connect, credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/transport-node';
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
}

/** One stored message; the callback must not keep `data` beyond the call. */
export type OnMessage = (subject: string, seq: number, timestampMs: number, data: Uint8Array) => void;

/**
 * Reads a stream through an ordered consumer (client-side, no durable state on the server, no acks: nothing the
 * tool does changes Parley). Ends at the stream's last message as it was when the read began, unless following.
 * A synchronous callback per message, not an async iterator: a million messages cost no million promises.
 */
export async function readStream(nc: NatsConnection, o: StreamReadOptions, onMessage: OnMessage): Promise<void> {
  const jsm = await jetstreamManager(nc);
  let lastSeq: number;
  let firstSeq: number;
  try {
    const info = await jsm.streams.info(o.stream);
    lastSeq = info.state.last_seq;
    firstSeq = info.state.first_seq;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) throw new CliError(`stream ${o.stream} not found on this NATS server (is this Parley's NATS? check NATS_URL / --nats-url and --stream)`);
    throw new CliError(`cannot read stream ${o.stream}: ${(err as Error).message}`);
  }
  const from = Math.max(o.fromSeq ?? 1, firstSeq);
  if (!o.follow && (lastSeq === 0 || from > lastSeq)) {
    o.onTotal?.(0);
    return;
  }
  const js = jetstream(nc);
  const start =
    o.fromSeq != null && o.fromSeq > 1
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: o.fromSeq }
      : o.sinceMs != null
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.sinceMs).toISOString() }
        : { deliver_policy: DeliverPolicy.All };
  // No server-side filter: the read ends at the stream's last sequence as it was at the start, which is exact only
  // when every message counts (nats-server 2.9 under-reports a filtered consumer's pending from a start sequence).
  const consumer = await js.consumers.get(o.stream, start);
  const messages = await consumer.consume({ max_messages: 20_000 });
  const abort = () => messages.stop();
  o.signal?.addEventListener('abort', abort);
  try {
    if (!o.follow) {
      const info = await consumer.info();
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
