/**
 * The house rules of docs/ARCHITECTURE.md, checked on the import graph of functions/ and local/ (static imports,
 * `import type` included, and dynamic `import()`), so a drift fails here instead of in review.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

const files = (dir: string): string[] =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g;

/** A module's imports: project files by path, packages by name. */
const importsOf = (file: string): { local: string[]; packages: string[] } => {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = (m[1] ?? m[2] ?? m[3]) as string;
    let target: string | undefined;
    if (spec.startsWith('#core/')) target = `functions/core/${spec.slice(6)}.ts`;
    else if (spec.startsWith('#local/')) target = `local/${spec.slice(7)}.ts`;
    else if (spec.startsWith('.')) target = relative(ROOT, resolve(ROOT, dirname(file), spec));
    if (target === undefined) packages.push(spec);
    else if (existsSync(join(ROOT, target))) local.push(target);
    else throw new Error(`${file}: cannot resolve ${spec}`);
  }
  return { local, packages };
};

const graph = new Map([...files('functions'), ...files('local')].map((f) => [f, importsOf(f)]));

/** Every cycle's files, each cycle once (Tarjan's strongly connected components larger than one file). */
const cycles = (prefix: string): string[][] => {
  const nodes = [...graph.keys()].filter((f) => f.startsWith(prefix));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.local.filter((f) => f.startsWith(prefix)) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return out;
};

const DOMAINS = ['approvals', 'teardown', 'jobs', 'timeline', 'notify', 'delivery', 'schemas', 'organization'].map(
  (d) => `functions/core/${d}/`,
);

describe('house rules on the import graph', () => {
  it('reads the graph (a regex that matched nothing would pass every rule)', () => {
    expect(graph.size).toBeGreaterThan(150);
    expect(graph.get('functions/pipeline-events/handler.ts')?.local).toContain('functions/core/wiring.ts');
    expect(graph.get('functions/core/adapters/read-models.ts')?.packages).toContain('@aws-sdk/lib-dynamodb');
  });

  it('functions/ never imports local/ (the local cloud reaches functions only through template.yaml)', () => {
    const offenders = [...graph].filter(
      ([f, i]) => f.startsWith('functions/') && i.local.some((t) => t.startsWith('local/')),
    );
    expect(offenders.map(([f]) => f)).toEqual([]);
  });

  it('domain code imports no AWS SDK, no adapter and no wiring: it takes ports', () => {
    const offenders = [...graph]
      .filter(([f]) => DOMAINS.some((d) => f.startsWith(d)))
      .flatMap(([f, i]) => [
        ...i.packages.filter((p) => p.startsWith('@aws-sdk/')).map((p) => `${f} → ${p}`),
        ...i.local
          .filter((t) => t.startsWith('functions/core/adapters/') || t === 'functions/core/wiring.ts')
          .map((t) => `${f} → ${t}`),
      ]);
    expect(offenders).toEqual([]);
  });

  it('schemas reach zod only through schemas/zod.ts (zod/mini with the English messages, nothing else of zod)', () => {
    const ZOD = 'functions/core/schemas/zod.ts';
    expect(new Set(graph.get(ZOD)?.packages)).toEqual(new Set(['zod/locales', 'zod/mini']));
    const users = [...graph].filter(([, i]) => i.local.includes(ZOD)).map(([f]) => f);
    expect(users).toEqual(expect.arrayContaining(['functions/core/settings.ts', 'functions/core/jobs/schema.ts']));
    const offenders = [...graph]
      .filter(([f]) => f !== ZOD)
      .flatMap(([f, i]) => i.packages.filter((p) => p === 'zod' || p.startsWith('zod/')).map((p) => `${f} → ${p}`));
    expect(offenders).toEqual([]);
  });

  it('has no import circles in functions/ or in local/', () => {
    expect(cycles('functions/')).toEqual([]);
    expect(cycles('local/')).toEqual([]);
  });

  it('every function with an input parses it at the boundary (the lambdaHandler parse option)', () => {
    const NO_INPUT = new Set(['functions/approval-reminders/handler.ts', 'functions/teardown-sweeper/handler.ts']);
    const handlers = [...graph.keys()].filter((f) => /^functions\/[^/]+\/handler\.ts$/.test(f));
    expect(handlers.length).toBeGreaterThanOrEqual(9);
    const without = handlers.filter(
      (f) => !NO_INPUT.has(f) && !/\bparse: [\w(]/.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(without).toEqual([]);
  });

  it('each domain keeps its error classes in its errors.ts (every one a StagecrewError: error-names.test.ts)', () => {
    const stray = [...graph.keys()]
      .filter((f) => DOMAINS.some((d) => f.startsWith(d)) && !f.endsWith('/errors.ts'))
      .filter((f) => /\bclass \w+ extends \w*Error\b/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(stray).toEqual([]);
  });
});
