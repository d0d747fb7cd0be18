/**
 * What a function loads at cold start, in bytes, built exactly as `sam build` builds it (esbuild with the template's
 * BuildProperties, code splitting included): the entry and every chunk it imports statically. Chunks behind a dynamic
 * import (the Tracer when tracing is off, mail, bucket and image cleanup, the Slack hand-over) load on first use and
 * are not counted. Bytes are deterministic, so a budget is a test; init time is a benchmark (`bench/bundles.ts`).
 * Bytes are init time too: V8 reads and compiles every module it loads. The budgets are today's sizes + ~5 %; the
 * cold-start goal (400 KiB) is met by the light handlers only: the SDK's shared core and each client's schemas are
 * loaded by every function at init, and what every invocation needs is deliberately loaded then (init runs at full
 * CPU), not moved to the first invocation to make the number look smaller.
 * History: 1,272-2,134 KiB single files at first; ES module builds and namespace zod imports; the wiring module,
 * lazy adapters and no KeepNames; zod/mini; then code splitting (docs/PERFORMANCE.md).
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '#local/runtime/template';
import { initClosure } from '../../scripts/init-closure.ts';

const BUDGET_KIB: Record<string, number> = {
  ApprovalRequestFunction: 500,
  ApprovalApiFunction: 450,
  ApprovalRemindersFunction: 455,
  DeliveryApiFunction: 430,
  PipelineEventsFunction: 535,
  InvokeActionFunction: 605,
  TeardownTaskFunction: 545,
  StackEventsFunction: 385,
  TeardownSweeperFunction: 500,
};

const functions = Object.entries(loadTemplate('template.yaml').Resources).filter(
  ([, r]) => r.Type === 'AWS::Serverless::Function',
);

describe('bytes loaded at init (esbuild with the template settings)', () => {
  it('has a budget for every function', () => {
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(BUDGET_KIB).sort());
  });

  it.each(functions.map(([id, r]) => [id, r.Metadata?.BuildProperties as Record<string, unknown>] as const))(
    '%s stays within its budget',
    async (id, props) => {
      const out = await build({
        entryPoints: { app: (props.EntryPoints as string[])[0] as string },
        outdir: 'out',
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'esm',
        target: String(props.Target),
        minify: props.Minify === true,
        keepNames: props.KeepNames === true,
        splitting: props.Splitting === true,
        ...(typeof props.MainFields === 'string' ? { mainFields: props.MainFields.split(',') } : {}),
        logLevel: 'silent',
      });
      // Dynamic imports are entry points too in the metafile: the function's entry is the one named `app`.
      const files = new Set(initClosure(out.metafile, 'out/app.js'));
      const loaded = out.outputFiles.filter((f) => files.has(f.path.slice(f.path.lastIndexOf('out/'))));
      const kib = loaded.reduce((n, f) => n + f.contents.length, 0) / 1024;
      const gzipKib = loaded.reduce((n, f) => n + gzipSync(f.contents).length, 0) / 1024;
      expect(kib, `${id}: ${kib.toFixed(0)} KiB at init`).toBeLessThanOrEqual(BUDGET_KIB[id] ?? 0);
      expect(kib).toBeGreaterThan(100); // a real bundle, not an empty build
      expect(gzipKib).toBeLessThan(kib);
    },
    30_000,
  );
});
