/**
 * EventBridge event patterns: a validator that rejects what EventBridge rejects (with the same reasons) and a
 * matcher that agrees with EventBridge on what matches.
 *
 * Semantics follow the AWS "Amazon EventBridge event patterns" and "Content filtering" guides and, where the
 * guides are silent, the rule engine AWS open-sourced (aws/event-ruler, `JsonRuleCompiler`): a pattern compiles
 * to an OR of branches (one per `$or` choice); a branch is an AND of leaf paths; each path holds an OR of
 * matchers. Nested keys and dot-joined keys are the same path, in the pattern and in the event. Only leaf values
 * (strings, numbers, booleans, null) are matched; an array in the event matches if any element matches, and
 * fields matched inside arrays of objects must come from the same array element ("array consistency").
 */
import { parseIp } from './ip.ts';
import { fail, isObject, type Matcher, matchExpression, matchesValue, type Scalar } from './operators.ts';

export { InvalidEventPatternError } from './operators.ts';

/** One `$or` choice: leaf path → the matchers of which any must hold (all paths must hold). */
type Branch = Map<string, Matcher[]>;

/** A validated pattern, ready to match many events. */
export type CompiledPattern = { readonly branches: readonly Branch[] };

const OR = '$or';
// Names the engine reserves for operators; they cannot be field names inside `$or`.
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

/**
 * Validates and compiles a pattern given as JSON text or as an already parsed value.
 * @throws InvalidEventPatternError when EventBridge would answer InvalidEventPatternException.
 */
export function compilePattern(pattern: unknown): CompiledPattern {
  let parsed = pattern;
  if (typeof pattern === 'string') {
    try {
      parsed = JSON.parse(pattern);
    } catch (err) {
      fail(`Filter is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(parsed)) return fail('Filter is not an object');
  const branches: Branch[] = [];
  parseObject(parsed, [], branches, false);
  return { branches };
}

function parseObject(obj: Record<string, unknown>, path: string[], branches: Branch[], insideOr: boolean): void {
  const keys = Object.keys(obj);
  for (const key of keys) {
    const value = obj[key];
    if (key === OR) {
      parseOr(value, path, branches);
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(`${key} is Ruler reserved fieldName which cannot be used inside ${OR}.`);
    }
    if (isObject(value)) parseObject(value, [...path, key], branches, insideOr);
    else if (Array.isArray(value)) writeValues(value, [...path, key].join('.'), branches);
    else fail(`"${key}" must be an object or an array`);
  }
  if (keys.length === 0) fail('Empty objects are not allowed');
}

function parseOr(value: unknown, path: string[], branches: Branch[]): void {
  if (!Array.isArray(value)) fail(`It must be an Array followed with ${OR}.`);
  const before = branches.map((b) => new Map(b));
  branches.length = 0;
  for (const choice of value) {
    if (!isObject(choice)) fail(`Only JSON object is allowed in array of ${OR} relationship.`);
    const forked = before.length > 0 ? before.map((b) => new Map(b)) : [new Map<string, Matcher[]>()];
    parseObject(choice as Record<string, unknown>, path, forked, true);
    branches.push(...forked);
  }
  if (value.length < 2) fail(`There must have at least 2 Objects in ${OR} relationship.`);
}

function writeValues(values: unknown[], name: string, branches: Branch[]): void {
  const matchers: Matcher[] = [];
  for (const value of values) {
    if (isObject(value)) matchers.push(matchExpression(value));
    else if (typeof value === 'string') {
      const ip = parseIp(value);
      matchers.push(ip ? { kind: 'exact', value, ip } : { kind: 'exact', value });
    } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      matchers.push({ kind: 'exact', value });
    } else fail('Match value must be String, number, true, false, or null');
  }
  if (matchers.length === 0) fail('Empty arrays are not allowed');
  if (branches.length === 0) branches.push(new Map());
  for (const branch of branches) branch.set(name, matchers);
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

type Leaf = { value: Scalar; arrays: ReadonlyArray<readonly [id: number, index: number]> };

/** Flattens an event into leaf values per dot-joined path, remembering which array elements each came from. */
function flatten(event: Record<string, unknown>): Map<string, Leaf[]> {
  const leaves = new Map<string, Leaf[]>();
  let arrayIds = 0;
  const walk = (value: unknown, path: string, arrays: Leaf['arrays']) => {
    if (Array.isArray(value)) {
      const id = arrayIds++;
      value.forEach((item, index) => {
        walk(item, path, [...arrays, [id, index]]);
      });
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) walk(child, path === '' ? key : `${path}.${key}`, arrays);
    } else if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      const list = leaves.get(path) ?? [];
      list.push({ value: value as Scalar, arrays });
      leaves.set(path, list);
    }
  };
  walk(event, '', []);
  return leaves;
}

type Option = Leaf | 'absent';

function consistent(bound: Map<number, number>, leaf: Leaf): boolean {
  return leaf.arrays.every(([id, index]) => bound.get(id) === undefined || bound.get(id) === index);
}

function matchesBranch(branch: Branch, leaves: Map<string, Leaf[]>): boolean {
  const fields: Option[][] = [];
  for (const [path, matchers] of branch) {
    const present = leaves.get(path) ?? [];
    const options: Option[] = present.filter((leaf) => matchers.some((m) => matchesValue(m, leaf.value)));
    if (present.length === 0 && matchers.some((m) => m.kind === 'exists' && !m.exists)) options.push('absent');
    if (options.length === 0) return false;
    fields.push(options);
  }
  // Fields matched inside arrays of objects must agree on the element they came from.
  const bound = new Map<number, number>();
  const search = (i: number): boolean => {
    const options = fields[i];
    if (options === undefined) return true;
    for (const option of options) {
      if (option === 'absent') {
        if (search(i + 1)) return true;
        continue;
      }
      if (!consistent(bound, option)) continue;
      const added = option.arrays.filter(([id]) => !bound.has(id));
      for (const [id, index] of added) bound.set(id, index);
      const ok = search(i + 1);
      for (const [id] of added) bound.delete(id);
      if (ok) return true;
    }
    return false;
  };
  return search(0);
}

/** Does a compiled pattern match an event (a parsed JSON object)? Non-objects never match. */
export function matches(pattern: CompiledPattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  const leaves = flatten(event);
  return pattern.branches.some((branch) => matchesBranch(branch, leaves));
}

/** Validates the pattern and matches it against the event in one call. */
export function matchEventPattern(pattern: unknown, event: unknown): boolean {
  return matches(compilePattern(pattern), event);
}
