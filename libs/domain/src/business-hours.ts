import type { LocalizedText } from './localized-text.js';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BusinessHours {
  timeZone: string;
  /** Per weekday, intervals of local time `HH:MM-HH:MM` (end exclusive; `24:00` allowed as an end). */
  weekly: Partial<Record<Weekday, readonly string[]>>;
  /** Local dates `YYYY-MM-DD` closed all day. */
  holidays: readonly string[];
  /** Instants closed regardless of the weekly hours (ISO-8601, end exclusive). */
  closures: readonly { from: string; to: string }[];
  closedMessage: LocalizedText;
  /** Outside hours, take the customer's message and queue it for the next opening. */
  leaveMessage: boolean;
}

interface LocalTime {
  date: string;
  weekday: Weekday;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  return f;
}

function localTime(instant: number, timeZone: string): LocalTime & { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const [y, mo, d, h, mi, s] = [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second].map(Number) as [number, number, number, number, number, number];
  return { date: `${parts.year}-${parts.month}-${parts.day}`, weekday: parts.weekday!.toLowerCase().slice(0, 3) as Weekday, minutes: h * 60 + mi, y, mo, d, h, mi, s };
}

const toMinutes = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/** Parses `HH:MM-HH:MM`; null when malformed (the config loader reports it). */
export function parseInterval(text: string): { start: number; end: number } | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$/.exec(text);
  if (!m) return null;
  const [startText, endText] = text.split('-') as [string, string];
  const start = toMinutes(startText);
  const end = toMinutes(endText);
  return end > start ? { start, end } : null;
}

export function isOpen(hours: BusinessHours, instant: number): boolean {
  if (hours.closures.some((c) => Date.parse(c.from) <= instant && instant < Date.parse(c.to))) return false;
  const local = localTime(instant, hours.timeZone);
  if (hours.holidays.includes(local.date)) return false;
  return (hours.weekly[local.weekday] ?? []).some((text) => {
    const i = parseInterval(text);
    return i !== null && i.start <= local.minutes && local.minutes < i.end;
  });
}

/** The UTC instant of a local wall-clock time in a zone (DST-safe to the minute for opening times). */
function instantOf(y: number, mo: number, d: number, minutes: number, timeZone: string): number {
  const guess = Date.UTC(y, mo - 1, d, Math.floor(minutes / 60), minutes % 60);
  const l = localTime(guess, timeZone);
  const offset = Date.UTC(l.y, l.mo - 1, l.d, l.h, l.mi, l.s) - guess;
  const first = guess - offset;
  const l2 = localTime(first, timeZone);
  const offset2 = Date.UTC(l2.y, l2.mo - 1, l2.d, l2.h, l2.mi, l2.s) - first;
  return guess - offset2;
}

/** The next instant at or after `from` when the entry point is open, within 366 days; null if never. */
export function nextOpening(hours: BusinessHours, from: number): number | null {
  if (isOpen(hours, from)) return from;
  const candidates = hours.closures.map((c) => Date.parse(c.to)).filter((t) => t > from);
  for (let day = 0; day <= 366; day++) {
    const l = localTime(from + day * 86_400_000, hours.timeZone);
    for (const text of hours.weekly[l.weekday] ?? []) {
      const i = parseInterval(text);
      if (i) candidates.push(instantOf(l.y, l.mo, l.d, i.start, hours.timeZone));
    }
    const best = candidates.filter((t) => t >= from && isOpen(hours, t)).sort((a, b) => a - b)[0];
    if (best !== undefined) return best;
  }
  return null;
}
