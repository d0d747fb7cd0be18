import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { traced, tracing, tracingEnabled, tracingMiddleware } from '#core/tracing';

describe('tracing as a parameter', () => {
  it('is on only when POWERTOOLS_TRACE_ENABLED says true', () => {
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: ' TRUE ' })).toBe(true);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: '1' })).toBe(true);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: '' })).toBe(false);
    expect(tracingEnabled({})).toBe(false);
  });

  it('leaves clients untouched and loads no Tracer when off (the test environment turns it off)', async () => {
    expect(await tracing()).toBeUndefined();
    expect(tracingMiddleware()).toEqual([]);
    const client = { middlewareStack: {} };
    expect(traced(client)).toBe(client);
  });

  it('loads the Tracer at init and captures the clients built afterwards when on', () => {
    const probe = [
      "const { tracing, traced, tracingMiddleware } = await import('#core/tracing');",
      "const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');",
      // Built before the Tracer has loaded (as a handler module does at init): captured once it has.
      "const client = traced(new DynamoDBClient({ region: 'us-east-1' }));",
      'const t = await tracing();',
      "const names = client.middlewareStack.identify().join(',');",
      'console.log(JSON.stringify({ loaded: t !== undefined, captured: /xray/i.test(names), middleware: tracingMiddleware().length }));',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      encoding: 'utf8',
      env: {
        ...process.env,
        POWERTOOLS_TRACE_ENABLED: 'true',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: 'probe',
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      },
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ loaded: true, captured: true, middleware: 1 });
  });
});
