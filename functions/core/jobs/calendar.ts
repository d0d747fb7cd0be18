/**
 * Wall-clock arithmetic in an IANA time zone with only `Intl` (no date library): what weekday and minute it is
 * somewhere, and which instant a local date and time names (DST-aware).
 */
export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const formatters = new Map<string, Intl.DateTimeFormat>();
const formatter = (timeZone: string): Intl.DateTimeFormat => {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
};

export const isTimeZone = (timeZone: string): boolean => {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
};

export type LocalParts = {
  year: number;
  month: number;
  day: number;
  weekday: number;
  /** Minutes since local midnight. */
  minute: number;
  second: number;
};

export const localParts = (epochMs: number, timeZone: string): LocalParts => {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf(parts.weekday as Weekday),
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    second: Number(parts.second),
  };
};

const offsetAt = (epochMs: number, timeZone: string): number => {
  const p = localParts(epochMs, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, Math.floor(p.minute / 60), p.minute % 60, p.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
};

/** The instant a local date and time name in `timeZone` (a time skipped by DST resolves to just after the gap). */
export const zonedToEpoch = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  timeZone: string,
): number => {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const first = offsetAt(guess, timeZone);
  const candidate = guess - first;
  const second = offsetAt(candidate, timeZone);
  return second === first ? candidate : guess - second;
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const ABSOLUTE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads a calendar point: `2026-12-24` (local midnight; with `endOfDay`, the following midnight),
 * `2026-12-24T18:00` (local time) or `2026-12-24T18:00:00Z` / `…+01:00` (absolute). `undefined` if unreadable.
 */
export const parseCalendarPoint = (text: string, timeZone: string, endOfDay = false): number | undefined => {
  const d = DATE.exec(text);
  if (d) {
    const t = zonedToEpoch(Number(d[1]), Number(d[2]), Number(d[3]) + (endOfDay ? 1 : 0), 0, 0, timeZone);
    return Number.isNaN(t) ? undefined : t;
  }
  const l = LOCAL_DATETIME.exec(text);
  if (l) {
    const t = zonedToEpoch(Number(l[1]), Number(l[2]), Number(l[3]), Number(l[4]), Number(l[5]), timeZone);
    return Number.isNaN(t) ? undefined : t;
  }
  if (ABSOLUTE.test(text)) {
    const t = Date.parse(text);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
};

/** `HH:MM` → minutes since midnight (`24:00` allowed as an end). */
export const parseClock = (text: string): number | undefined => {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min !== 0)) return undefined;
  return h * 60 + min;
};
