/**
 * The functions are bundled without esbuild's KeepNames (it costs 10-13 % of cold-start init), so minification renames
 * classes: an error's `name` must never come from its constructor. Step Functions `ErrorEquals`, Lambda's errorType,
 * logs and tests all match on the name, so every error class in the functions sets `this.name` to its own class name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** Each `class X extends …Error` (or extends another error class found here) with the text of its body. */
const errorClasses = (): Array<{ file: string; name: string; body: string }> => {
  const found: Array<{ file: string; name: string; base: string; body: string }> = [];
  for (const file of sources('functions')) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/class (\w+) extends (\w+)\b[^{]*\{/g)) {
      // The class body: up to the matching closing brace.
      let depth = 1;
      let i = (m.index ?? 0) + m[0].length;
      for (; i < src.length && depth > 0; i++) depth += src[i] === '{' ? 1 : src[i] === '}' ? -1 : 0;
      found.push({
        file,
        name: m[1] as string,
        base: m[2] as string,
        body: src.slice((m.index ?? 0) + m[0].length, i),
      });
    }
  }
  const errors = new Set(['Error']);
  let grew = true;
  while (grew) {
    grew = false;
    for (const c of found) {
      if (!errors.has(c.name) && (errors.has(c.base) || c.base.endsWith('Error'))) {
        errors.add(c.name);
        grew = true;
      }
    }
  }
  return found.filter((c) => errors.has(c.name));
};

describe('error names survive minification', () => {
  const classes = errorClasses();

  it('finds the error classes', () => {
    expect(classes.map((c) => c.name)).toEqual(expect.arrayContaining(['StagecrewError', 'ValidationError']));
    expect(classes.length).toBeGreaterThan(15);
  });

  it.each(classes.map((c) => [c.name, c] as const))('%s sets its own name', (name, c) => {
    expect(c.body, `${c.file}: ${name} must set this.name = '${name}'`).toMatch(
      new RegExp(`this\\.name = '${name}'|override (?:readonly )?name = '${name}'|name = '${name}'`),
    );
  });
});

describe('one error hierarchy', () => {
  it('every error class in the functions is a StagecrewError', async () => {
    const { StagecrewError } = await import('#core/errors');
    // zod's own classes, re-exported by schemas/zod.ts (its compile errors: Stagecrew never compiles a schema).
    const zods = new Set<unknown>(Object.values(await import('zod/mini')));
    const modules = sources('functions').filter((f) => !f.endsWith('handler.ts'));
    const outside: string[] = [];
    for (const file of modules) {
      const mod = (await import(`../../${file}`)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error) || zods.has(value)) continue;
        if (!(value.prototype instanceof StagecrewError) && value !== StagecrewError) outside.push(`${file}: ${name}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
