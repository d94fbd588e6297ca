import { SetMetadata } from '@nestjs/common';

export const HANDLES_METADATA = 'parley:handles';

export interface RequestContext {
  subject: string;
  /** The instant the request was taken in, passed to deciders so they never read a clock. */
  now: string;
}

export interface HandlesOptions {
  subject: string;
  payload: new () => object;
}

/** Marks a provider method as the answer to a NATS request subject, its payload validated as `payload`. */
export const Handles = (subject: string, payload: new () => object) => SetMetadata(HANDLES_METADATA, { subject, payload } satisfies HandlesOptions);
