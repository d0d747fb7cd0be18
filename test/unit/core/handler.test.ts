import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { lambdaHandler } from '#core/handler';

const context = {
  functionName: 'Test',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:Test',
} as Context;

describe('lambdaHandler', () => {
  it('parses the raw event at the boundary: the use case gets the parsed input, bad input never reaches it', async () => {
    const seen: unknown[] = [];
    const handler = lambdaHandler(
      async (event: { n: number }) => {
        seen.push(event);
        return event.n * 2;
      },
      {
        parse: (raw) => {
          const n = (raw as { n?: unknown })?.n;
          if (typeof n !== 'number') throw new ValidationError('n must be a number', ['n: expected number']);
          return { n };
        },
      },
    );
    expect(await handler({ n: 21, extra: true }, context)).toBe(42);
    expect(seen).toEqual([{ n: 21 }]);
    await expect(handler({ n: 'x' }, context)).rejects.toBeInstanceOf(ValidationError);
    expect(seen).toHaveLength(1);
  });
});
