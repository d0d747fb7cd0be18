/**
 * The cold-start choices in template.yaml, as a deployed function gets them: ES module builds without KeepNames, source
 * maps always built but read only when SourceMapStackTraces asks for it, and the Powertools Tracer (with the X-Ray SDK
 * behind it) on only where SdkTracing says so.
 */
import { describe, expect, it } from 'vitest';
import { NO_VALUE, Resolver } from '#local/runtime/intrinsics';
import { loadTemplate } from '#local/runtime/template';

const template = loadTemplate('template.yaml');
const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
const defaults = Object.fromEntries(Object.entries(template.Parameters ?? {}).map(([k, p]) => [k, p.Default ?? '']));

/** A function's environment variable as CloudFormation resolves it with these parameters (undefined = absent). */
const envOf = (id: string, key: string, parameters: Record<string, unknown> = {}): unknown => {
  const resolver = new Resolver({
    parameters: { ...defaults, ...parameters },
    pseudo: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws' },
    refs: {},
    attributes: {},
    conditions: template.Conditions ?? {},
  });
  const own = (template.Resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const global = (template.Globals?.Function?.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  const raw = own && key in own ? own[key] : global?.[key];
  if (raw === undefined) return undefined;
  const value = resolver.resolve(raw);
  return value === NO_VALUE ? undefined : value;
};

const TRACED_BY_DEFAULT = [
  'ApprovalRequestFunction',
  'PipelineEventsFunction',
  'InvokeActionFunction',
  'TeardownTaskFunction',
  'TeardownSweeperFunction',
];

describe('cold-start settings in template.yaml', () => {
  it.each(functions)('%s is built as ES modules, minified, with a source map and without KeepNames', (_id, r) => {
    const props = r.Metadata?.BuildProperties as Record<string, unknown>;
    expect(props).toMatchObject({ Format: 'esm', Minify: true, Sourcemap: true, MainFields: 'module,main' });
    expect(props.KeepNames ?? false).toBe(false);
  });

  it('reads source maps only when SourceMapStackTraces is true (sam build leaves a non-string NODE_OPTIONS alone)', () => {
    for (const [id] of functions) {
      expect(envOf(id, 'NODE_OPTIONS'), id).toBeUndefined();
      expect(envOf(id, 'NODE_OPTIONS', { SourceMapStackTraces: 'true' }), id).toBe('--enable-source-maps');
      // Declared on the function itself: from Globals, sam build would add its own --enable-source-maps per function.
      const own = (template.Resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> })
        ?.Variables;
      expect(own?.NODE_OPTIONS, id).toBeTypeOf('object');
    }
    expect(JSON.stringify(template.Globals)).not.toContain('NODE_OPTIONS');
  });

  it('traces the busy functions by default, never the approval API or the light handlers, and follows on/off', () => {
    for (const [id] of functions) {
      expect(envOf(id, 'POWERTOOLS_TRACE_ENABLED'), id).toBe(TRACED_BY_DEFAULT.includes(id) ? 'true' : 'false');
      expect(envOf(id, 'POWERTOOLS_TRACE_ENABLED', { SdkTracing: 'on' }), id).toBe('true');
      expect(envOf(id, 'POWERTOOLS_TRACE_ENABLED', { SdkTracing: 'off' }), id).toBe('false');
    }
  });

  it('keeps Active tracing at the Lambda level for every function', () => {
    expect(template.Globals?.Function?.Tracing).toBe('Active');
    for (const [id, r] of functions) expect(r.Properties?.Tracing ?? 'Active', id).toBe('Active');
  });
});
