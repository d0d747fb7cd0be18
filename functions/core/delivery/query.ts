import { deliveryPolicy, type Settings } from '../settings.ts';
import { type DeliveryFigures, deliveryFigures, summaryRange, type TeardownWeek, teardownWeeks } from './figures.ts';
import type { DeliveryStore, TeardownRuns } from './ports.ts';

/** The longest window one request may ask for. */
export const MAX_WINDOW_DAYS = 92;

const DAY_MS = 86_400_000;

/** The last `days` whole UTC days up to and including today's, ending at `now`. */
export const lastDays = (now: Date, days: number): { from: Date; to: Date } => {
  const startOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { from: new Date(startOfToday - (days - 1) * DAY_MS), to: now };
};

/**
 * A pipeline's delivery figures for a window: one index query over its summaries (the window and the read range
 * around it), then the pure computation. The API, the local dashboard and the benchmarks all come through here.
 */
export const pipelineFigures = async (
  stores: { delivery: Pick<DeliveryStore, 'list'>; teardown: TeardownRuns },
  settings: Settings['delivery'],
  pipeline: string,
  window: { from: Date; to: Date },
): Promise<DeliveryFigures & { teardownWeeks: TeardownWeek[] }> => {
  const policy = deliveryPolicy(settings, pipeline);
  const range = summaryRange(window, policy);
  const [summaries, runs] = await Promise.all([
    stores.delivery.list(pipeline, range.from, range.to),
    stores.teardown.finishedRuns(pipeline, window.from.toISOString(), window.to.toISOString()),
  ]);
  return { ...deliveryFigures(pipeline, summaries, window, policy), teardownWeeks: teardownWeeks(runs) };
};
