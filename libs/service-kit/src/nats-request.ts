import type { NatsConnection } from '@nats-io/transport-node';
import { type ErrorBody, ParleyError, unavailable } from '@parley/errors';

/** A request to another Parley service over NATS; its `{error}` reply comes back as the same ParleyError. */
export async function natsRequest<T>(nc: NatsConnection, subject: string, payload: object, timeoutMs = 5_000): Promise<T> {
  let text: string;
  try {
    text = (await nc.request(subject, JSON.stringify(payload), { timeout: timeoutMs })).string();
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
