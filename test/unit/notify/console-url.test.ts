import { describe, expect, it } from 'vitest';
import { consoleUrl } from '#core/notify/view';

describe('console link', () => {
  it('encodes names with a lone UTF-16 surrogate as U+FFFD instead of throwing', () => {
    for (const name of ['x\ud800', '\udfff\ud800', 'a\udc00b']) {
      expect(() => consoleUrl('us-east-1', name, 'exec-1')).not.toThrow();
    }
    expect(consoleUrl('us-east-1', 'x\ud800', 'e\udfff')).toBe(
      'https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/x%EF%BF%BD/executions/e%EF%BF%BD/timeline?region=us-east-1',
    );
  });

  it('keeps well-formed names, surrogate pairs included, exactly as encodeURIComponent does', () => {
    const url = consoleUrl('eu-west-1', 'app 😀/x', '12345678-1234-5678-abcd-12345678abcd');
    expect(url).toContain(
      `/pipelines/${encodeURIComponent('app 😀/x')}/executions/12345678-1234-5678-abcd-12345678abcd/`,
    );
  });
});
