import { describe, expect, it } from 'vitest';
import { parseAckSubject } from './nats-reader.js';

describe('parseAckSubject', () => {
  it('reads the stream sequence and timestamp of both ack-subject shapes', () => {
    const out = { seq: 0, timestampMs: 0 };
    expect(parseAckSubject('$JS.ACK.PARLEY_EVENTS.OC_abc.1.4711.12.1763712000123456789.99', out)).toBe(true);
    expect(out).toEqual({ seq: 4711, timestampMs: 1763712000123 });
    expect(parseAckSubject('$JS.ACK.hub.ACCHASH.PARLEY_EVENTS.OC_abc.1.42.12.1763712000999000000.0.rnd', out)).toBe(true);
    expect(out).toEqual({ seq: 42, timestampMs: 1763712000999 });
  });

  it('refuses a subject of another shape', () => {
    expect(parseAckSubject('_INBOX.abc.def', { seq: 0, timestampMs: 0 })).toBe(false);
    expect(parseAckSubject('$JS.ACK.S.C.1.x.1.y.0', { seq: 0, timestampMs: 0 })).toBe(false);
  });
});
