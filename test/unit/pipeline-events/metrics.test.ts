import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { publishFigures } from '../../../functions/pipeline-events/metrics.ts';

/** The embedded-metric-format lines Powertools writes for the delivery figures (CloudWatch reads them from logs). */
describe('delivery figures in the embedded metric format', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('writes each point twice: with pipeline and stage, and with the service alone; never an execution id', () => {
    const lines: string[] = [];
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as typeof process.stdout.write);
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    // The test setup turns metrics off; this test reads what Lambda would log.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = new Metrics({ namespace: 'Stagecrew', serviceName: 'stagecrew' });
    publishFigures(metrics, 'web-app', [
      { name: 'LeadTime', unit: 'Milliseconds', value: 5_400_000, stage: 'Deploy' },
      { name: 'Deployments', unit: 'Count', value: 1, stage: 'Deploy' },
    ]);
    const blobs = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('_aws'))
      .map(
        (l) =>
          JSON.parse(l) as Record<string, unknown> & {
            _aws: {
              CloudWatchMetrics: Array<{
                Namespace: string;
                Dimensions: string[][];
                Metrics: Array<{ Name: string; Unit: string }>;
              }>;
            };
          },
      );
    expect(blobs).toHaveLength(4);
    const dims = blobs.map((b) => b._aws.CloudWatchMetrics[0]?.Dimensions[0]?.slice().sort());
    expect(dims).toEqual([
      ['pipeline', 'service', 'stage'],
      ['service'],
      ['pipeline', 'service', 'stage'],
      ['service'],
    ]);
    expect(blobs[0]).toMatchObject({ service: 'stagecrew', pipeline: 'web-app', stage: 'Deploy', LeadTime: 5_400_000 });
    expect(blobs[0]?._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Stagecrew',
      Metrics: [{ Name: 'LeadTime', Unit: 'Milliseconds' }],
    });
    for (const b of blobs) expect(JSON.stringify(b)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
  });
});
