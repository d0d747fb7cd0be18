/**
 * Checks what `sam build` produced, as CloudFormation will receive it (.aws-sam/build/template.yaml):
 * - every function's artifact holds the ES module entry and its source map, and every chunk the entry reaches
 *   through a static or dynamic import (code splitting);
 * - NODE_OPTIONS is still the template's `Fn::If` on SourceMapStackTraces. `sam build` adds `--enable-source-maps` to
 *   any esbuild function with `Sourcemap: true` whose NODE_OPTIONS is not a string containing it; it leaves a
 *   non-string value alone (and logs "NODE_OPTIONS is not a string!", which is expected here).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTemplate } from '../local/runtime/template.ts';

const dir = '.aws-sam/build';

/** Relative imports (`from"./chunk-X.mjs"`, `import("./s3-cleanup-Y.mjs")`) of a built file, followed transitively. */
const missingChunks = (entry: string): string[] => {
  const missing: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.\/[^"']+\.mjs)["']/g)) {
      const next = join(file, '..', m[1] as string);
      if (!existsSync(next)) missing.push(m[1] as string);
      else visit(next);
    }
  };
  visit(entry);
  return missing;
};
const built = loadTemplate(join(dir, 'template.yaml'));
const problems: string[] = [];
let count = 0;
for (const [id, r] of Object.entries(built.Resources)) {
  if (r.Type !== 'AWS::Serverless::Function') continue;
  count++;
  const handler = String(r.Properties?.Handler ?? '');
  const file = join(dir, id, `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`);
  if (!existsSync(file)) problems.push(`${id}: no bundle at ${file}`);
  if (!existsSync(`${file}.map`)) problems.push(`${id}: no source map at ${file}.map`);
  for (const missing of missingChunks(file)) problems.push(`${id}: ${missing} is imported but not in the artifact`);
  const env = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const options = env.NODE_OPTIONS as Record<string, unknown> | undefined;
  if (options === undefined || typeof options !== 'object' || !('Fn::If' in options)) {
    problems.push(`${id}: NODE_OPTIONS is ${JSON.stringify(options)}, expected the template's Fn::If`);
  }
}
if (count === 0) problems.push('no functions in the built template');
if (problems.length > 0) {
  console.error(`sam build output is not what the template asks for:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `sam build output: ${count} functions, each with its entry, its chunks, source map and deploy-time NODE_OPTIONS`,
);
