import { type Context, ROOT_CONTEXT, type TextMapGetter, type TextMapSetter, context, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type MsgHdrs, headers } from '@nats-io/transport-node';

/** The W3C trace context of a message as its headers carry it (`traceparent`, and `tracestate` when there is one). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * W3C Trace Context only, used directly rather than through the global propagator: messages carry the same two
 * headers whatever a process registered, and no baggage (which could carry anything) ever rides along.
 */
const w3c = new W3CTraceContextPropagator();

const setter: TextMapSetter<MsgHdrs> = { set: (h, key, value) => h.set(key, value) };
const getter: TextMapGetter<MsgHdrs> = {
  // MsgHdrs.get answers '' for a missing header; the propagator wants undefined.
  get: (h, key) => h.get(key) || undefined,
  keys: (h) => h.keys(),
};
const carrierGetter: TextMapGetter<TraceCarrier> = {
  get: (c, key) => (key === 'traceparent' ? c.traceparent : key === 'tracestate' ? c.tracestate : undefined),
  keys: () => ['traceparent', 'tracestate'],
};

/**
 * Adds the context's span (by default the active one) to NATS headers, creating them when `into` is absent.
 * Without a valid span in the context nothing is created: untraced messages stay header-free.
 */
export function injectTraceHeaders(into?: MsgHdrs, ctx: Context = context.active()): MsgHdrs | undefined {
  if (!trace.getSpanContext(ctx)) return into;
  const h = into ?? headers();
  w3c.inject(ctx, h, setter);
  return h;
}

/** The context a message's headers carry; a missing or malformed `traceparent` leaves `base` as it is. */
export function extractTraceHeaders(h: MsgHdrs | undefined, base: Context = ROOT_CONTEXT): Context {
  return h ? w3c.extract(base, h, getter) : base;
}

/** The carrier of NATS headers, when they hold a `traceparent` (kept on a stored event, for its consumers). */
export function traceCarrierOf(h: MsgHdrs | undefined): TraceCarrier | undefined {
  const traceparent = h?.get('traceparent');
  if (!traceparent) return undefined;
  const tracestate = h!.get('tracestate');
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The context a carrier holds; a malformed `traceparent` leaves `base` as it is. */
export function contextOfCarrier(carrier: TraceCarrier | undefined, base: Context = ROOT_CONTEXT): Context {
  return carrier ? w3c.extract(base, carrier, carrierGetter) : base;
}
