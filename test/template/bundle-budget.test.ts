/**
 * Bundle bytes per function, built exactly as `sam build` builds them (esbuild with the template's BuildProperties).
 * Bytes are deterministic, so a budget is a test; init time is a benchmark (`bench/bundles.ts`). The budgets are the
 * sizes measured after the first cold-start step plus about 10 %: a change that pulls a whole SDK or zod's locales
 * back in fails here. Lower them as the bundles shrink. Last set after the third cold-start step (schemas on `zod/mini`
 * through `functions/core/schemas/zod.ts`, English messages only: 64-69 KiB less per function): sizes + ~5 %. Bytes
 * are init time too: V8 compiles the whole bundle on import.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '#local/runtime/template';

const BUDGET_KIB: Record<string, number> = {
  ApprovalRequestFunction: 825,
  ApprovalApiFunction: 780,
  ApprovalRemindersFunction: 775,
  DeliveryApiFunction: 660,
  PipelineEventsFunction: 860,
  InvokeActionFunction: 870,
  TeardownTaskFunction: 1115,
  StackEventsFunction: 615,
  TeardownSweeperFunction: 735,
};

const functions = Object.entries(loadTemplate('template.yaml').Resources).filter(
  ([, r]) => r.Type === 'AWS::Serverless::Function',
);

describe('bundle byte budgets (esbuild with the template settings)', () => {
  it('has a budget for every function', () => {
    expect(functions.map(([id]) => id).sort()).toEqual(Object.keys(BUDGET_KIB).sort());
  });

  it.each(functions.map(([id, r]) => [id, r.Metadata?.BuildProperties as Record<string, unknown>] as const))(
    '%s stays within its budget',
    async (id, props) => {
      const out = await build({
        entryPoints: props.EntryPoints as string[],
        bundle: true,
        write: false,
        platform: 'node',
        format: 'esm',
        target: String(props.Target),
        minify: props.Minify === true,
        keepNames: props.KeepNames === true,
        ...(typeof props.MainFields === 'string' ? { mainFields: props.MainFields.split(',') } : {}),
        logLevel: 'silent',
      });
      const kib = (out.outputFiles[0]?.contents.length ?? 0) / 1024;
      expect(kib, `${id}: ${kib.toFixed(0)} KiB`).toBeLessThanOrEqual(BUDGET_KIB[id] ?? 0);
      expect(kib).toBeGreaterThan(100); // a real bundle, not an empty build
    },
    30_000,
  );
});
