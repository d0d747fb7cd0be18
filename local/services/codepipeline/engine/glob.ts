/** Glob matching as CodeBuild artifact paths and CodePipeline trigger filters use it (`*`, `**`, `?`, `{a,b}`). */
const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
  }
  const out = new RegExp(`^${re}$`);
  cache.set(glob, out);
  return out;
}

export const globMatch = (glob: string, path: string): boolean => globToRegExp(glob).test(path);

/** A trigger filter: matches if any include matches (or there are none) and no exclude matches. */
export function filterMatches(
  filter: { includes?: string[]; excludes?: string[] } | undefined,
  values: string[],
): boolean {
  if (!filter) return true;
  const included = (v: string) => !filter.includes?.length || filter.includes.some((g) => globMatch(g, v));
  const excluded = (v: string) => (filter.excludes ?? []).some((g) => globMatch(g, v));
  return values.some((v) => included(v) && !excluded(v));
}
