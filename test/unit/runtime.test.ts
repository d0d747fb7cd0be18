import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs on Node 24, the Lambda nodejs24.x runtime, through the node devDependency', () => {
    expect(process.versions.node.startsWith('24.')).toBe(true);
  });

  it('resolves #core subpath imports', async () => {
    const { requireEnv } = await import('#core/config');
    expect(() => requireEnv('STAGECREW_SURELY_UNSET_VARIABLE')).toThrow(/is required/);
  });
});
