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
import { type IpRange, type IpValue, inRange, parseCidr, parseIp } from './ip.ts';

/** A pattern EventBridge would refuse; `reason` is the engine's own wording. */
export class InvalidEventPatternError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`Event pattern is not valid. Reason: ${reason}`);
    this.name = 'InvalidEventPatternError';
    this.reason = reason;
  }
}

type Scalar = string | number | boolean | null;

type Matcher =
  | { kind: 'exact'; value: Scalar; ip?: IpValue }
  | { kind: 'prefix' | 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'equals-ignore-case'; value: string }
  | { kind: 'wildcard'; regex: RegExp }
  | { kind: 'numeric'; low?: bigint; lowOpen: boolean; high?: bigint; highOpen: boolean }
  | { kind: 'exists'; exists: boolean }
  | { kind: 'cidr'; range: IpRange }
  | { kind: 'anything-but'; values: Scalar[] }
  | { kind: 'anything-but-ignore-case'; values: string[] }
  | { kind: 'anything-but-prefix' | 'anything-but-suffix'; values: string[] }
  | { kind: 'anything-but-wildcard'; regexes: RegExp[] };

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

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/** One `{ "<operator>": … }` object inside a field's array. */
function matchExpression(expr: Record<string, unknown>): Matcher {
  const keys = Object.keys(expr);
  const op = keys[0];
  if (op === undefined) return fail('Match expression name not found');
  const value = expr[op];
  // The engine reads the first operator completely before it notices a second key.
  const onlyOneKey = (reason = 'Only one key allowed in match expression') => {
    if (keys.length > 1) fail(reason);
  };
  switch (op) {
    case 'exactly': {
      if (typeof value !== 'string') fail('exact match pattern must be a string');
      onlyOneKey();
      return { kind: 'exact', value: value as string };
    }
    case 'prefix':
    case 'suffix': {
      if (isObject(value)) {
        const inner = Object.keys(value);
        const innerOp = inner[0];
        const label = op === 'prefix' ? 'Prefix' : 'Suffix';
        if (innerOp === undefined) fail(`${label} expression name not found`);
        if (innerOp !== 'equals-ignore-case') fail(`Unsupported ${op} pattern: ${innerOp}`);
        if (typeof value[innerOp as string] !== 'string') fail('equals-ignore-case match pattern must be a string');
        if (inner.length > 1) fail('Only one key allowed in match expression');
        onlyOneKey();
        return { kind: op, value: value[innerOp as string] as string, ignoreCase: true };
      }
      if (typeof value !== 'string') fail(`${op} match pattern must be a string`);
      onlyOneKey();
      return { kind: op, value: value as string, ignoreCase: false };
    }
    case 'numeric': {
      if (!Array.isArray(value)) fail('Value of numeric must be an array.');
      const matcher = numericExpression(value as unknown[]);
      onlyOneKey('Too many elements in numeric expression');
      return matcher;
    }
    case 'anything-but': {
      const matcher = anythingBut(value);
      onlyOneKey('Too many elements in numeric expression');
      return matcher;
    }
    case 'exists': {
      if (typeof value !== 'boolean') fail('exists match pattern must be either true or false.');
      onlyOneKey();
      return { kind: 'exists', exists: value as boolean };
    }
    case 'cidr': {
      // The engine reuses the prefix wording here.
      if (typeof value !== 'string') fail('prefix match pattern must be a string');
      let range: IpRange;
      try {
        range = parseCidr(value as string);
      } catch (err) {
        return fail((err as Error).message);
      }
      onlyOneKey();
      return { kind: 'cidr', range };
    }
    case 'equals-ignore-case': {
      if (typeof value !== 'string') fail('equals-ignore-case match pattern must be a string');
      onlyOneKey();
      return { kind: 'equals-ignore-case', value: value as string };
    }
    case 'wildcard': {
      if (typeof value !== 'string') fail('wildcard match pattern must be a string');
      const regex = wildcardRegex(value as string);
      onlyOneKey();
      return { kind: 'wildcard', regex };
    }
    default:
      return fail(`Unrecognized match type ${op}`);
  }
}

function anythingBut(value: unknown): Matcher {
  if (isObject(value)) {
    const inner = Object.keys(value);
    const innerOp = inner[0];
    if (innerOp === undefined) return fail('Anything-But expression name not found');
    if (!['equals-ignore-case', 'prefix', 'suffix', 'wildcard'].includes(innerOp)) {
      fail(`Unsupported anything-but pattern: ${innerOp}`);
    }
    const operand = value[innerOp];
    if (!Array.isArray(operand) && typeof operand !== 'string' && typeof operand !== 'number') {
      fail('Value of anything-but must be an array or single string/number value.');
    }
    const list = Array.isArray(operand) ? operand : [operand];
    const strings: string[] = [];
    for (const item of list) {
      if (typeof item !== 'string') {
        if (innerOp === 'equals-ignore-case') {
          fail('Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.');
        }
        fail(
          innerOp === 'wildcard'
            ? 'wildcard match pattern must be a string'
            : 'prefix/suffix match pattern must be a string',
        );
      }
      if ((innerOp === 'prefix' || innerOp === 'suffix') && item === '') fail('Null prefix/suffix not allowed');
      strings.push(item as string);
    }
    if (inner.length > 1) fail('Too many elements in numeric expression');
    switch (innerOp) {
      case 'equals-ignore-case':
        return { kind: 'anything-but-ignore-case', values: strings.map((s) => s.toLowerCase()) };
      case 'wildcard':
        return { kind: 'anything-but-wildcard', regexes: strings.map(wildcardRegex) };
      default:
        return { kind: innerOp === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', values: strings };
    }
  }
  if (Array.isArray(value)) {
    let strings = 0;
    let numbers = 0;
    for (const item of value) {
      if (typeof item === 'string') strings++;
      else if (typeof item === 'number') {
        operand(item);
        numbers++;
      } else fail('Inside anything but list, start|null|boolean is not supported.');
    }
    if (strings > 0 === numbers > 0) {
      fail('Inside anything but list, either all values are number or string, mixed type is not supported');
    }
    return { kind: 'anything-but', values: value as Scalar[] };
  }
  if (typeof value === 'number') operand(value);
  if (typeof value === 'string' || typeof value === 'number') return { kind: 'anything-but', values: [value] };
  return fail('Value of anything-but must be an array or single string/number value.');
}

const FIVE_BILLION_MICROS = 5_000_000_000n * 1_000_000n;

/**
 * A number in millionths, as the engine compares numbers: exact to six decimal places within ±5e9. Returns the
 * engine's refusal as a string when the number is outside that domain.
 */
function toMicros(n: number): bigint | string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(n));
  if (!m) return 'Value must be between -5.0E9 and 5.0E9, inclusive';
  const [, sign, int = '', frac = '', exp = '0'] = m;
  // Shift the decimal point by the exponent, then strip trailing zeros to find the scale.
  let digits = int + frac;
  let scale = frac.length - Number(exp);
  while (scale > 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    scale--;
  }
  if (scale > 6) return 'Only values upto 6 decimals are supported';
  const micros = BigInt(digits) * 10n ** BigInt(6 - scale) * (sign === '-' ? -1n : 1n);
  if (micros < -FIVE_BILLION_MICROS || micros > FIVE_BILLION_MICROS) {
    return 'Value must be between -5.0E9 and 5.0E9, inclusive';
  }
  return micros;
}

function operand(n: number): bigint {
  const micros = toMicros(n);
  return typeof micros === 'string' ? fail(micros) : micros;
}

function numericExpression(terms: unknown[]): Matcher {
  const [op, first, op2, second, ...rest] = terms;
  if (typeof op !== 'string') return fail(`Invalid member in numeric match: ${terms.length === 0 ? ']' : String(op)}`);
  if (!['=', '<', '<=', '>', '>='].includes(op)) fail(`Unrecognized numeric range operator: ${op}`);
  if (typeof first !== 'number') fail(`Value of ${op === '=' ? 'equals' : op} must be numeric`);
  const value = first as number;
  const onlyOne = () => {
    if (terms.length > 2) fail('Too many elements in numeric expression');
  };
  switch (op) {
    case '=':
      onlyOne();
      return { kind: 'numeric', low: operand(value), lowOpen: false, high: operand(value), highOpen: false };
    case '<':
    case '<=':
      onlyOne();
      return { kind: 'numeric', lowOpen: false, high: operand(value), highOpen: op === '<' };
  }
  // '>' or '>=': optionally followed by an upper bound.
  if (terms.length === 2) return { kind: 'numeric', low: operand(value), lowOpen: op === '>', highOpen: false };
  if (typeof op2 !== 'string') return fail(`Bad value in numeric range: ${String(op2)}`);
  if (op2 !== '<' && op2 !== '<=') fail(`Bad numeric range operator: ${op2}`);
  if (typeof second !== 'number') fail(`Value of ${op2} must be numeric`);
  if (rest.length > 0) fail('Too many terms in numeric range expression');
  const low = operand(value);
  const high = operand(second as number);
  if (high <= low) fail('Bottom must be less than top');
  return { kind: 'numeric', low, lowOpen: op === '>', high, highOpen: op2 === '<' };
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal star and `\\` a literal backslash; any
 * other backslash and two stars in a row are invalid. Positions in errors count UTF-8 bytes of the quoted value,
 * as the engine reports them.
 */
function wildcardRegex(text: string): RegExp {
  let source = '';
  const position = (i: number) => Buffer.byteLength(text.slice(0, i)) + 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '*') {
      if (text[i + 1] === '*') fail(`Consecutive wildcard characters at pos ${position(i)}`);
      source += '[\\s\\S]*';
    } else if (ch === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') fail(`Invalid escape character at pos ${position(i)}`);
      source += `\\${next}`;
      i++;
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'u');
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

const lower = (s: string) => s.toLowerCase();

function matchesValue(m: Matcher, value: Scalar): boolean {
  switch (m.kind) {
    case 'exact':
      if (value === m.value) return true;
      if (m.ip && typeof value === 'string') {
        const ip = parseIp(value);
        return ip !== undefined && ip.family === m.ip.family && ip.value === m.ip.value;
      }
      return false;
    case 'prefix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? lower(value).startsWith(lower(m.value)) : value.startsWith(m.value);
    case 'suffix':
      if (typeof value !== 'string') return false;
      return m.ignoreCase ? lower(value).endsWith(lower(m.value)) : value.endsWith(m.value);
    case 'equals-ignore-case':
      return typeof value === 'string' && lower(value) === lower(m.value);
    case 'wildcard':
      return typeof value === 'string' && m.regex.test(value);
    case 'numeric': {
      // Event numbers outside the engine's numeric domain never satisfy a numeric condition.
      const micros = typeof value === 'number' ? toMicros(value) : undefined;
      if (typeof micros !== 'bigint') return false;
      if (m.low !== undefined && (m.lowOpen ? micros <= m.low : micros < m.low)) return false;
      if (m.high !== undefined && (m.highOpen ? micros >= m.high : micros > m.high)) return false;
      return true;
    }
    case 'exists':
      return m.exists;
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const ip = parseIp(value);
      return ip !== undefined && inRange(m.range, ip);
    }
    // anything-but matches every present value (null and other types included) except the listed ones.
    case 'anything-but':
      return !m.values.includes(value);
    case 'anything-but-ignore-case':
      return typeof value !== 'string' || !m.values.includes(lower(value));
    case 'anything-but-prefix':
      return typeof value !== 'string' || !m.values.some((p) => value.startsWith(p));
    case 'anything-but-suffix':
      return typeof value !== 'string' || !m.values.some((s) => value.endsWith(s));
    case 'anything-but-wildcard':
      return typeof value !== 'string' || !m.regexes.some((r) => r.test(value));
  }
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
