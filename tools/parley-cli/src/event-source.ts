import type { NatsConnection } from '@nats-io/transport-node';
import { type AnalyticsEvent, type Row, type SessionOutcome, decodeEvent } from '@parley/analytics';
import { DELIVERY_STREAM } from '@parley/contracts';
import { ProgressReporter } from './progress-reporter.js';
import { readStream } from './nats-reader.js';

export const EVENT_PREFIX = 'parley.v1.evt.';
const CUSTOMER_DELIVERIES = 'parley.v1.im.deliver.';

export interface EventReadOptions {
  stream: string;
  fromSeq?: number | null;
  sinceMs?: number | null;
  untilMs?: number | null;
  follow?: boolean;
  quiet: boolean;
  signal?: AbortSignal;
}

/** Slack between an event's own instant and the moment JetStream stored it. */
const STORE_SLACK_MS = 60_000;

/** The stored events in order, decoded, each handed to `onEvent`, with progress on stderr. */
export async function readEvents(nc: NatsConnection, o: EventReadOptions, onEvent: (e: AnalyticsEvent) => void): Promise<void> {
  const progress = new ProgressReporter('events', null, o.quiet);
  const decoder = new TextDecoder();
  try {
    await readStream(
      nc,
      {
        stream: o.stream,
        subjectPrefix: EVENT_PREFIX,
        fromSeq: o.fromSeq,
        sinceMs: o.sinceMs != null && o.fromSeq == null ? o.sinceMs - STORE_SLACK_MS : null,
        stopAfterMs: o.untilMs != null && !o.follow ? o.untilMs + STORE_SLACK_MS : null,
        follow: o.follow,
        onTotal: (t) => progress.setTotal(t),
        signal: o.signal,
      },
      (subject, seq, _t, data) => {
        progress.tick();
        onEvent(decodeEvent(subject, seq, decoder.decode(data)));
      },
    );
  } finally {
    progress.done();
  }
}

interface StatusDelivery {
  deliveryId: string;
  sessionId: string;
  kind: string;
  status?: { position: number; estimatedWaitSeconds: number; lowSeconds?: number; highSeconds?: number };
}

/**
 * Every position and estimate told to a waiting customer: the `status` deliveries already stored on
 * PARLEY_DELIVERIES, joined with what happened to the session next.
 */
export async function readWaitEstimates(
  nc: NatsConnection,
  outcomes: ReadonlyMap<string, SessionOutcome>,
  o: { sinceMs?: number | null; untilMs?: number | null; quiet: boolean; stream?: string },
  onRow: (r: Row) => void,
): Promise<void> {
  const progress = new ProgressReporter('deliveries', null, o.quiet);
  const decoder = new TextDecoder();
  try {
    await readStream(
      nc,
      {
        stream: o.stream ?? DELIVERY_STREAM,
        subjectPrefix: CUSTOMER_DELIVERIES,
        sinceMs: o.sinceMs ?? null,
        stopAfterMs: o.untilMs ?? null,
        onTotal: (t) => progress.setTotal(t),
      },
      (_subject, _seq, timestampMs, data) => {
        progress.tick();
        if (o.sinceMs != null && timestampMs < o.sinceMs) return;
        const d = JSON.parse(decoder.decode(data)) as StatusDelivery;
        if (d.kind !== 'status' || !d.status) return;
        const outcome = outcomes.get(d.sessionId);
        const actual = outcome?.assignedAtMs != null ? Math.max(0, (outcome.assignedAtMs - timestampMs) / 1000) : null;
        onRow({
          delivery_id: d.deliveryId,
          session_id: d.sessionId,
          queue_id: outcome?.queueId ?? null,
          told_at: new Date(timestampMs).toISOString(),
          position: d.status.position,
          estimated_wait_seconds: d.status.estimatedWaitSeconds,
          low_seconds: d.status.lowSeconds ?? null,
          high_seconds: d.status.highSeconds ?? null,
          actual_wait_seconds: actual,
          outcome: outcome?.assignedAtMs != null ? 'answered' : outcome?.abandoned ? 'abandoned' : 'open',
        });
      },
    );
  } finally {
    progress.done();
  }
}
