import type { NatsConnection } from '@nats-io/transport-node';
import { type ErrorBody, ParleyError, unavailable } from '@parley/errors';
import { injectTraceHeaders } from '@parley/event-store';
import { tracedRequest, tracingEnabled } from './tracing.js';

/** A request to another Parley service over NATS; its `{error}` reply comes back as the same ParleyError. */
export function natsRequest<T>(nc: NatsConnection, subject: string, payload: object, timeoutMs = 5_000): Promise<T> {
  return tracingEnabled() ? tracedRequest(subject, payload, () => request<T>(nc, subject, payload, timeoutMs)) : request<T>(nc, subject, payload, timeoutMs);
}

async function request<T>(nc: NatsConnection, subject: string, payload: object, timeoutMs: number): Promise<T> {
  let text: string;
  try {
    // Traced, the request's headers carry its span's W3C context to the service that answers.
    text = (await nc.request(subject, JSON.stringify(payload), { timeout: timeoutMs, headers: tracingEnabled() ? injectTraceHeaders() : undefined })).string();
  } catch (err) {
    throw unavailable(`no answer on ${subject}`, { subject }, err);
  }
  const reply = JSON.parse(text) as T | { error: ErrorBody };
  if (reply && typeof reply === 'object' && 'error' in reply && reply.error && typeof reply.error === 'object') {
    const e = reply.error as ErrorBody;
    throw new ParleyError(e.code, e.message, e.details);
  }
  return reply as T;
}
