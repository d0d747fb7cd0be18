import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricPoint } from '#core/delivery/signals';

/**
 * Publishes delivery figures in CloudWatch's embedded metric format (a log line each, no API call). Each point is
 * written twice: with the pipeline and stage dimensions, for the dashboard, and with the service dimension alone,
 * for alarms across pipelines (a CloudWatch alarm needs one metric, not a search).
 */
export const publishFigures = (metrics: Metrics, pipeline: string, points: readonly MetricPoint[]): void => {
  for (const p of points) {
    const scoped = metrics.singleMetric();
    scoped.addDimensions({ pipeline, stage: p.stage });
    scoped.addMetric(p.name, p.unit, p.value);
    metrics.singleMetric().addMetric(p.name, p.unit, p.value);
  }
};
