import { channel } from 'node:diagnostics_channel';
import { JetStreamApiError } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';

/**
 * JetStream API error codes that mean "not now" rather than "no": a cluster still electing its meta leader or a
 * stream's leader, or a node of the placement down for a moment. nats.js names only a few codes
 * (JetStreamApiCodes); these come from nats-server's errors.json.
 */
export const JetStreamUnavailableCodes = {
  /** JSClusterNoPeersErr: no suitable peers for placement (a node of three is down or not yet back). */
  ClusterNoPeers: 10005,
  /** JSClusterNotAvailErr: JetStream system temporarily unavailable (no meta leader yet). */
  ClusterNotAvailable: 10008,
  /** JSClusterNotLeaderErr: JetStream cluster can not handle request (leadership moving). */
  ClusterNotLeader: 10009,
} as const;

const UNAVAILABLE_CODES = new Set<number>(Object.values(JetStreamUnavailableCodes));

/**
 * Whether `err` says JetStream could not answer now (a timeout, no responder yet, a cluster without a leader) as
 * opposed to refusing the request. Only such errors are worth waiting out.
 */
export function isJetStreamUnavailable(err: unknown): boolean {
  if (err instanceof natsErrors.TimeoutError || err instanceof natsErrors.NoRespondersError) return true;
  if (err instanceof natsErrors.RequestError) return err.isNoResponders() || isJetStreamUnavailable(err.cause);
  // What the JetStream API calls throw for "no responders": nats.js wraps the request's error in its
  // JetStreamNotEnabled, a class it does not export; the typed cause says what happened. A server whose JetStream
  // is starting (or off) answers so; either way it is not a refusal of the request.
  if (err instanceof Error && err.cause instanceof natsErrors.RequestError) return isJetStreamUnavailable(err.cause);
  if (err instanceof JetStreamApiError) return err.status === 503 || UNAVAILABLE_CODES.has(err.code);
  return false;
}

/** What is published on the `parley:jetstream-wait` diagnostics channel each time start-up waits for JetStream. */
export interface JetStreamWait {
  /** What was being set up, e.g. `stream PARLEY_EVENTS` or `bucket parley_router_queues`. */
  what: string;
  attempt: number;
  error: string;
  /** How long it has waited so far. */
  waitedMs: number;
}

/**
 * Start-up waits are published here rather than logged: the event store has no logger of its own, and the
 * service's bootstrap subscribes and writes them as JSON warnings.
 */
export const jetStreamWaits = channel('parley:jetstream-wait');

/** How long a service keeps trying to set up its streams and buckets before it gives up and exits. */
export const JETSTREAM_START_DEADLINE_MS = 60_000;

/**
 * Runs an idempotent set-up step (create a stream or bucket if missing, check how it is stored), again with back-off
 * while JetStream is unavailable. Many instances starting at once on a cluster still electing leaders see timeouts
 * and "temporarily unavailable" for a few seconds; a service that exited on the first one would be restarted by
 * Kubernetes anyway, later and with a crash in its log. Any other error is thrown at once.
 */
export async function untilJetStreamAnswers<T>(what: string, step: () => Promise<T>, deadlineMs = JETSTREAM_START_DEADLINE_MS): Promise<T> {
  const started = Date.now();
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      const waitedMs = Date.now() - started;
      if (!isJetStreamUnavailable(err) || waitedMs + delay > deadlineMs) throw err;
      if (jetStreamWaits.hasSubscribers) jetStreamWaits.publish({ what, attempt, error: (err as Error).message, waitedMs } satisfies JetStreamWait);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 2_000);
    }
  }
}
