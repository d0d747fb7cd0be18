import { describe, expect, it } from 'vitest';
import {
  ASSUMPTIONS,
  costPerThousand,
  emptyCounts,
  type MeasuredCounts,
  type Measurement,
  markdown,
  measuredFailureRate,
  PRICE_TABLE,
  PRICES,
  type Prices,
  perExecution,
} from '../../scripts/cost-model.ts';

/** One execution's counts, small round numbers so the expected dollars can be worked out by hand. */
const one = (): MeasuredCounts => ({
  ...emptyCounts(),
  executions: 1,
  lambda: { Fn: { invocations: 10, errors: 0, billedMs: 10_000, memoryMb: 1024 } },
  sfnTransitions: 8,
  dynamodb: { wru: 90, rru: 40, gsiWru: 10, calls: { PutItem: 100 } },
  httpApiRequests: 2,
  snsPublishes: 1,
  emails: 3,
  customEvents: 4,
  secretsCalls: 2,
});

const line = (c: MeasuredCounts, prefix: string, prices: Prices = PRICES) =>
  costPerThousand(c, prices).lines.find((l) => l.item.startsWith(prefix))?.usd;

const measurement = (succeeded: MeasuredCounts, failed: MeasuredCounts): Measurement => ({
  measuredAt: '2026-01-01T00:00:00.000Z',
  command: 'npx node bench/cost-run.ts',
  node: 'v24 test',
  loadAverage: [1, 1],
  wallSeconds: 60,
  pipeline: 'test pipeline',
  succeeded,
  failed,
});

describe('cost per 1,000 executions from measured counts', () => {
  it('prices each service from its count (worked out by hand)', () => {
    const c = one();
    // Lambda: 10 requests × $0.20/M + 10 s × 1 GB × $0.0000133334, per execution, × 1,000.
    expect(line(c, 'Lambda Fn')).toBeCloseTo(1000 * (10 * 0.2e-6 + 10 * 0.0000133334), 12);
    expect(line(c, 'Step Functions')).toBeCloseTo(0.2, 12); // 8 × 1,000 × $0.025/1,000
    expect(line(c, 'DynamoDB write')).toBeCloseTo(0.0625, 12); // (90 + 10) × 1,000 × $0.625/M
    expect(line(c, 'DynamoDB read')).toBeCloseTo(0.005, 12); // 40 × 1,000 × $0.125/M
    expect(line(c, 'API Gateway')).toBeCloseTo(0.002, 12);
    expect(line(c, 'SNS')).toBeCloseTo(0.0005, 12);
    expect(line(c, 'SES')).toBeCloseTo(0.3, 12); // 3 recipients × 1,000 × $0.10/1,000
    expect(line(c, 'EventBridge')).toBeCloseTo(0.004, 12);
    expect(line(c, 'Secrets Manager')).toBeCloseTo(0.01, 12); // 2 × 1,000 × $0.05/10,000
    // Logs: no function output, 10 invocations × (330 + 3 × 26) bytes of platform lines at $0.50/GB.
    expect(line(c, 'CloudWatch Logs')).toBeCloseTo((1000 * 10 * (330 + 78) * 0.5) / 1024 ** 3, 15);
    const { lines, total } = costPerThousand(c);
    expect(total).toBeCloseTo(
      lines.reduce((s, l) => s + l.usd, 0),
      15,
    );
    expect(total).toBeGreaterThan(0.7);
  });

  it('a change of price or count changes the result by exactly its share', () => {
    const base = costPerThousand(one()).total;
    const dearerEmail = { ...PRICES, sesEmail: 0.2 / 1000 };
    expect(costPerThousand(one(), dearerEmail).total - base).toBeCloseTo(0.3, 12);
    const dearerGbs = { ...PRICES, lambdaGbSecond: 2 * PRICES.lambdaGbSecond };
    expect(costPerThousand(one(), dearerGbs).total - base).toBeCloseTo(1000 * 10 * PRICES.lambdaGbSecond, 12);
    const moreTransitions = { ...one(), sfnTransitions: 9 };
    expect(costPerThousand(moreTransitions).total - base).toBeCloseTo(0.025, 12);
    const slower = one();
    (slower.lambda.Fn as { billedMs: number }).billedMs = 20_000;
    expect(costPerThousand(slower).total).toBeGreaterThan(base);
    const logged = { ...one(), logBytes: 1024 ** 3 / 1000, logLines: 0 }; // 1 GB per 1,000 executions
    expect(costPerThousand(logged).total - base).toBeCloseTo(0.5, 9);
    const moreOverhead = { ...ASSUMPTIONS, platformLogBytesPerInvocation: 330 + 1024 ** 3 / 10_000 };
    expect(costPerThousand(one(), PRICES, moreOverhead).total - base).toBeCloseTo(0.5, 9);
  });

  it('averages the succeeded and failed runs and mixes them at the failure rate', () => {
    const ok = one();
    ok.executions = 2; // two runs summed: per execution half of each count
    const bad = { ...emptyCounts(), executions: 1, sfnTransitions: 14, emails: 2 };
    const m = measurement(ok, bad);
    expect(measuredFailureRate(m)).toBeCloseTo(1 / 3, 12);
    expect(perExecution(m, 0).sfnTransitions).toBeCloseTo(4, 12);
    expect(perExecution(m, 0).emails).toBeCloseTo(1.5, 12);
    expect(perExecution(m, 1).sfnTransitions).toBeCloseTo(14, 12);
    expect(perExecution(m, 0.5).sfnTransitions).toBeCloseTo(9, 12);
    expect(perExecution(m, 0.5).lambda.Fn?.invocations).toBeCloseTo(2.5, 12);
    expect(perExecution(m).executions).toBeCloseTo(1, 12);
    expect(() => perExecution(m, 1.5)).toThrow(RangeError);
    expect(() => perExecution(measurement(ok, emptyCounts()), 0.2)).toThrow(/no failed execution/);
  });

  it('renders a Markdown table whose total follows the counts and names every price source', () => {
    const m = measurement(one(), { ...one(), sfnTransitions: 20 });
    const md = markdown(m, 0.5);
    const total = costPerThousand(perExecution(m, 0.5)).total;
    expect(md).toContain(`| **Total** | | **$${total.toFixed(3)}** | |`);
    expect(md).toContain('50 % failing');
    expect(md).toContain('Free tiers excluded');
    expect(markdown(m, 0)).not.toBe(md);
    for (const p of Object.values(PRICE_TABLE)) {
      expect(p.source).toMatch(/Pricing/);
      expect(p.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(md).toContain(p.listed);
    }
  });
});
