import type { Metafile } from 'esbuild';

/**
 * The output files a cold start loads (code splitting): the entry, then every chunk it reaches through static
 * imports. Chunks behind a dynamic import load on first use and are not part of it. Paths as the metafile keys them.
 */
export const initClosure = (meta: Metafile, entry: string): string[] => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of meta.outputs[file]?.imports ?? []) {
      if (i.kind === 'import-statement' && !i.external) visit(i.path);
    }
  };
  visit(entry);
  return [...seen];
};
