import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { service } from '#local/services/eventbridge/index';
import { compilePattern, InvalidEventPatternError, matchEventPattern } from '#local/services/eventbridge/pattern';
import { AwsError } from '#local/services/types';
import { fakeContext } from './fake-context.ts';

// Cases whose outcomes were verified against the real EventBridge TestEventPattern API (see NOTICE.md there).
const dir = join(import.meta.dirname, '../../../fixtures/eventbridge-patterns');
type Case = { name: string; expect: 'match' | 'no-match' | 'invalid'; Event: unknown; EventPattern: unknown };
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Case);

describe('EventBridge pattern conformance', () => {
  it('has the full corpus, with every kind of outcome', () => {
    expect(cases.length).toBe(97);
    const kinds = new Set(cases.map((c) => c.expect));
    expect([...kinds].sort()).toEqual(['invalid', 'match', 'no-match']);
  });

  describe.each(cases)('$name', (c) => {
    it(`matcher says ${c.expect}`, () => {
      if (c.expect === 'invalid') {
        expect(() => compilePattern(c.EventPattern)).toThrow(InvalidEventPatternError);
        expect(() => compilePattern(JSON.stringify(c.EventPattern))).toThrow(/^Event pattern is not valid\. Reason: /);
      } else {
        expect(matchEventPattern(c.EventPattern, c.Event)).toBe(c.expect === 'match');
      }
    });

    it(`TestEventPattern says ${c.expect}`, async () => {
      const input = { EventPattern: JSON.stringify(c.EventPattern), Event: JSON.stringify(c.Event) };
      const call = service.operations.TestEventPattern;
      if (!call) throw new Error('TestEventPattern is missing');
      if (c.expect === 'invalid') {
        const error = await Promise.resolve()
          .then(() => call(input, fakeContext().ctx))
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AwsError);
        expect(error).toMatchObject({ code: 'InvalidEventPatternException', status: 400 });
      } else {
        await expect(Promise.resolve(call(input, fakeContext().ctx))).resolves.toEqual({
          Result: c.expect === 'match',
        });
      }
    });
  });
});
