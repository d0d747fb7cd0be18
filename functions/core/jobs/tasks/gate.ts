import * as z from '../../schemas/zod.ts';
import { isTimeZone, localParts, parseCalendarPoint, parseClock, WEEKDAYS } from '../calendar.ts';
import { defineTask } from '../task.ts';

/**
 * `gate`: let the pipeline through only inside a deployment window and outside change freezes; otherwise fail
 * or wait (continuation) until the gate opens.
 *
 * ```json
 * {"task":"gate","timezone":"Europe/Berlin",
 *  "windows":[{"days":["Mon","Tue","Wed","Thu"],"start":"09:00","end":"16:00"}],
 *  "freezes":[{"start":"2026-12-21","end":"2027-01-04","reason":"year-end freeze"}],
 *  "whenClosed":"wait","maxWaitMinutes":720}
 * ```
 */
const Clock = z.string().check(z.refine((s) => parseClock(s) !== undefined, 'must be HH:MM (00:00–24:00)'));

const Window = z.object({
  days: z._default(z.array(z.enum(WEEKDAYS)).check(z.minLength(1)), [...WEEKDAYS]),
  start: Clock,
  end: Clock,
});

const Freeze = z.object({
  start: z.string().check(z.minLength(1)),
  end: z.string().check(z.minLength(1)),
  reason: z._default(z.string().check(z.maxLength(200)), 'change freeze'),
});

const Options = z
  .strictObject({
    timezone: z
      ._default(z.string(), 'UTC')
      .check(z.refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')),
    /** Empty: always inside a window (only freezes close the gate). */
    windows: z._default(z.array(Window).check(z.maxLength(50)), []),
    freezes: z._default(z.array(Freeze).check(z.maxLength(50)), []),
    whenClosed: z._default(z.enum(['wait', 'fail']), 'wait'),
    /** Longest wait for the gate to open; the action cannot outlive 24 hours. */
    maxWaitMinutes: z._default(z.int().check(z.minimum(1), z.maximum(1430)), 720),
  })
  .check(
    z.superRefine((o, ctx) => {
      o.freezes.forEach((f, i) => {
        const start = parseCalendarPoint(f.start, o.timezone);
        const end = parseCalendarPoint(f.end, o.timezone, true);
        const format = 'must be YYYY-MM-DD, YYYY-MM-DDTHH:MM (local) or an ISO-8601 time with offset';
        if (start === undefined) ctx.addIssue({ code: 'custom', path: ['freezes', i, 'start'], message: format });
        if (end === undefined) ctx.addIssue({ code: 'custom', path: ['freezes', i, 'end'], message: format });
        if (start !== undefined && end !== undefined && end <= start) {
          ctx.addIssue({ code: 'custom', path: ['freezes', i, 'end'], message: 'must be after start' });
        }
      });
    }),
  );
export type GateOptions = z.output<typeof Options>;

export type GateVerdict = { open: true; why: string } | { open: false; why: string };

/** Is the gate open at `t`? Windows whose end is not after their start run past midnight into the next day. */
export const evaluateGate = (o: GateOptions, t: number): GateVerdict => {
  for (const f of o.freezes) {
    const start = parseCalendarPoint(f.start, o.timezone) ?? 0;
    const end = parseCalendarPoint(f.end, o.timezone, true) ?? 0;
    if (t >= start && t < end) {
      return { open: false, why: `${f.reason} until ${new Date(end).toISOString()}` };
    }
  }
  if (o.windows.length === 0) return { open: true, why: 'no deployment windows configured and no freeze active' };
  const p = localParts(t, o.timezone);
  const today = WEEKDAYS[p.weekday] ?? 'Sun';
  const yesterday = WEEKDAYS[(p.weekday + 6) % 7] ?? 'Sat';
  for (const w of o.windows) {
    const start = parseClock(w.start) ?? 0;
    const end = parseClock(w.end) ?? 0;
    const label = `${w.days.join(',')} ${w.start}-${w.end} ${o.timezone}`;
    if (start < end) {
      if (w.days.includes(today) && p.minute >= start && p.minute < end) return { open: true, why: `inside ${label}` };
    } else {
      if (w.days.includes(today) && p.minute >= start) return { open: true, why: `inside ${label}` };
      if (w.days.includes(yesterday) && p.minute < end) return { open: true, why: `inside ${label}` };
    }
  }
  return { open: false, why: `outside the deployment windows (${o.timezone})` };
};

/** The first minute at or after `from` (and before `until`) at which the gate is open. */
export const nextOpening = (o: GateOptions, from: number, until: number): number | undefined => {
  let t = Math.ceil(from / 60_000) * 60_000;
  while (t < until) {
    if (evaluateGate(o, t).open) return t;
    t += 60_000;
  }
  return undefined;
};

/** How long a closed gate waits inside one invocation before handing back a continuation. */
export const GATE_DWELL_MS = 5_000;

export const gate = defineTask({
  name: 'gate',
  description: 'pass, fail or wait on deployment windows and change freezes',
  options: Options,
  state: z.object({ opensAt: z.number() }),
  timeoutMs: (o) => o.maxWaitMinutes * 60_000,
  async run(o, _state, ctx) {
    const enteredAt = ctx.now();
    for (;;) {
      const now = ctx.now();
      const verdict = evaluateGate(o, now);
      if (verdict.open) {
        return {
          status: 'succeeded',
          summary: `gate open: ${verdict.why}`,
          outputVariables: { GateDecision: 'open', EvaluatedAt: new Date(now).toISOString() },
        };
      }
      if (o.whenClosed === 'fail') return { status: 'failed', message: `gate closed: ${verdict.why}` };
      const opensAt = nextOpening(o, now, ctx.deadline);
      if (opensAt === undefined) {
        return {
          status: 'failed',
          message: `gate closed: ${verdict.why}; it does not open before the wait ends at ${new Date(ctx.deadline).toISOString()}`,
        };
      }
      if (opensAt > ctx.budgetEndsAt) {
        // CodePipeline's re-invocation cadence after a continuation is undocumented: dwell a few seconds before
        // handing back, so a gate closed for hours is at most 12 invocations a minute even if it were immediate.
        const dwell = Math.min(enteredAt + GATE_DWELL_MS, ctx.budgetEndsAt) - now;
        if (dwell > 0) {
          await ctx.sleep(dwell);
          continue;
        }
        const span = opensAt - ctx.startedAt;
        return {
          status: 'running',
          summary: `gate closed: ${verdict.why}; opens at ${new Date(opensAt).toISOString()}`,
          state: { opensAt },
          percentComplete: span > 0 ? ((now - ctx.startedAt) / span) * 100 : 0,
        };
      }
      await ctx.sleep(Math.max(0, opensAt - now));
    }
  },
});
