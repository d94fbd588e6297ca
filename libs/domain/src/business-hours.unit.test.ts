import { describe, expect, it } from 'vitest';
import { type BusinessHours, isOpen, nextOpening, parseInterval } from './business-hours.js';

const berlin: BusinessHours = {
  timeZone: 'Europe/Berlin',
  weekly: { mon: ['09:00-12:00', '13:00-17:00'], tue: ['09:00-17:00'], sat: ['10:00-24:00'] },
  holidays: ['2026-12-22'],
  closures: [{ from: '2026-11-24T10:00:00Z', to: '2026-11-24T11:30:00Z' }],
  closedMessage: { en: 'closed' },
  leaveMessage: false,
};
const t = (iso: string) => Date.parse(iso);

describe('business hours', () => {
  it("reads weekly hours in the entry point's time zone, with holidays and closures", () => {
    // Monday 2026-11-23: Berlin is UTC+1 in November.
    expect(isOpen(berlin, t('2026-11-23T07:59:00Z'))).toBe(false);
    expect(isOpen(berlin, t('2026-11-23T08:00:00Z'))).toBe(true);
    expect(isOpen(berlin, t('2026-11-23T11:30:00Z'))).toBe(false); // lunch
    expect(isOpen(berlin, t('2026-11-23T15:59:00Z'))).toBe(true);
    expect(isOpen(berlin, t('2026-11-23T16:00:00Z'))).toBe(false);
    expect(isOpen(berlin, t('2026-11-24T10:15:00Z'))).toBe(false); // closure
    expect(isOpen(berlin, t('2026-11-24T11:30:00Z'))).toBe(true);
    expect(isOpen(berlin, t('2026-12-22T10:00:00Z'))).toBe(false); // holiday (a Tuesday)
    expect(isOpen(berlin, t('2026-11-28T22:59:00Z'))).toBe(true); // Saturday until 24:00 local
  });

  it('finds the next opening across days, closures and DST', () => {
    expect(nextOpening(berlin, t('2026-11-23T07:00:00Z'))).toBe(t('2026-11-23T08:00:00Z'));
    expect(nextOpening(berlin, t('2026-11-23T11:10:00Z'))).toBe(t('2026-11-23T12:00:00Z'));
    expect(nextOpening(berlin, t('2026-11-24T10:15:00Z'))).toBe(t('2026-11-24T11:30:00Z'));
    // Tuesday evening → Saturday 10:00 local.
    expect(nextOpening(berlin, t('2026-11-24T18:00:00Z'))).toBe(t('2026-11-28T09:00:00Z'));
    // Summer time: Monday 2026-06-01 09:00 Berlin is 07:00 UTC.
    expect(nextOpening(berlin, t('2026-06-01T05:00:00Z'))).toBe(t('2026-06-01T07:00:00Z'));
    expect(nextOpening({ ...berlin, weekly: {} }, t('2026-06-01T05:00:00Z'))).toBeNull();
  });

  it('parses intervals and refuses malformed ones', () => {
    expect(parseInterval('09:00-17:30')).toEqual({ start: 540, end: 1050 });
    expect(parseInterval('22:00-24:00')).toEqual({ start: 1320, end: 1440 });
    for (const bad of ['9-17', '17:00-09:00', '25:00-26:00', '09:00']) expect(parseInterval(bad)).toBeNull();
  });
});
