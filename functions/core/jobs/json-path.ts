/**
 * A small JSON path for health checks: `$.status`, `data.items[0].state`, `$["key.with.dots"]`.
 * No wildcards or filters: a check names one value.
 */
export type PathSegment = string | number;

export const parseJsonPath = (path: string): PathSegment[] | undefined => {
  const segments: PathSegment[] = [];
  let rest = path.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const token = /^(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\])/;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  return segments.length > 0 ? segments : undefined;
};

export type Lookup = { found: true; value: unknown } | { found: false };

export const lookup = (value: unknown, segments: readonly PathSegment[]): Lookup => {
  let current: unknown = value;
  for (const s of segments) {
    if (typeof s === 'number') {
      if (!Array.isArray(current) || s >= current.length) return { found: false };
      current = current[s];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, s)) {
        return { found: false };
      }
      current = (current as Record<string, unknown>)[s];
    }
  }
  return { found: true, value: current };
};

/** Structural equality of JSON values (object key order ignored). */
export const jsonEquals = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEquals(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) => Object.hasOwn(b, k) && jsonEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
};
