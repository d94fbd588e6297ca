import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { contextOfCarrier, extractTraceHeaders, injectTraceHeaders, traceCarrierOf } from './trace-context.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';
const withSpan = (traceState?: string) =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false, ...(traceState ? { traceState: new TraceState(traceState) } : {}) });

describe('trace context in NATS headers', () => {
  it('writes a W3C traceparent and reads the same span context back', () => {
    const h = injectTraceHeaders(undefined, withSpan())!;
    expect(h.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);
    const back = trace.getSpanContext(extractTraceHeaders(h));
    expect(back).toMatchObject({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
  });

  it("carries tracestate along, and keeps both on a stored event's carrier", () => {
    const h = injectTraceHeaders(headers(), withSpan('parley=1,vendor=x'))!;
    expect(h.get('tracestate')).toBe('parley=1,vendor=x');
    const carrier = traceCarrierOf(h);
    expect(carrier).toEqual({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'parley=1,vendor=x' });
    const back = trace.getSpanContext(contextOfCarrier(carrier));
    expect(back?.traceId).toBe(traceId);
    expect(back?.traceState?.serialize()).toBe('parley=1,vendor=x');
  });

  it('adds to headers it is given and creates none without a span', () => {
    const given = headers();
    given.set('Nats-Msg-Id', 'e-1');
    expect(injectTraceHeaders(given, withSpan())).toBe(given);
    expect(given.get('Nats-Msg-Id')).toBe('e-1');
    expect(injectTraceHeaders(undefined, ROOT_CONTEXT)).toBeUndefined();
    expect(traceCarrierOf(given)).toMatchObject({ traceparent: `00-${traceId}-${spanId}-01` });
    expect(traceCarrierOf(undefined)).toBeUndefined();
  });

  it.each([
    ['garbage', 'not-a-traceparent'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['an all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${traceId.slice(2)}-${spanId}-01`],
    ['version ff', `ff-${traceId}-${spanId}-01`],
    ['upper-case hex', `00-${traceId.toUpperCase()}-${spanId}-01`],
  ])('ignores a malformed traceparent (%s): no parent, no error', (_what, traceparent) => {
    const h = headers();
    h.set('traceparent', traceparent);
    expect(trace.getSpanContext(extractTraceHeaders(h))).toBeUndefined();
    expect(trace.getSpanContext(contextOfCarrier({ traceparent }))).toBeUndefined();
  });

  it('leaves the base context as it is when nothing is carried', () => {
    const base = withSpan();
    expect(extractTraceHeaders(undefined, base)).toBe(base);
    expect(extractTraceHeaders(headers(), base)).toBe(base);
    expect(contextOfCarrier(undefined, base)).toBe(base);
  });
});
