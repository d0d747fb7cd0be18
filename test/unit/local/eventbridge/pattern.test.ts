import { describe, expect, it } from 'vitest';
import { compilePattern, matchEventPattern } from '#local/services/eventbridge/pattern';

const reason = (pattern: unknown): string => {
  try {
    compilePattern(pattern);
  } catch (err) {
    return (err as Error).message.replace('Event pattern is not valid. Reason: ', '');
  }
  throw new Error('pattern was accepted');
};

describe('event pattern matching', () => {
  it('matches values by type: the string "42" is not the number 42', () => {
    expect(matchEventPattern({ n: [42] }, { n: 42 })).toBe(true);
    expect(matchEventPattern({ n: [42] }, { n: '42' })).toBe(false);
    expect(matchEventPattern({ n: ['42'] }, { n: 42 })).toBe(false);
    expect(matchEventPattern({ n: [300] }, { n: 300.0 })).toBe(true);
  });

  it('matches an array in the event when any element matches', () => {
    expect(matchEventPattern({ tags: ['b'] }, { tags: ['a', 'b'] })).toBe(true);
    expect(matchEventPattern({ tags: ['c'] }, { tags: ['a', 'b'] })).toBe(false);
    expect(matchEventPattern({ tags: [{ 'anything-but': 'a' }] }, { tags: ['a', 'b'] })).toBe(true);
  });

  it('requires fields matched inside an array of objects to come from the same element', () => {
    const event = {
      detail: {
        items: [
          { name: 'a', size: 1 },
          { name: 'b', size: 2 },
        ],
      },
    };
    expect(matchEventPattern({ detail: { items: { name: ['a'], size: [1] } } }, event)).toBe(true);
    expect(matchEventPattern({ detail: { items: { name: ['a'], size: [2] } } }, event)).toBe(false);
  });

  it('distinguishes null, empty string and a missing field', () => {
    expect(matchEventPattern({ v: [null] }, { v: null })).toBe(true);
    expect(matchEventPattern({ v: [null] }, { v: '' })).toBe(false);
    expect(matchEventPattern({ v: [''] }, { v: null })).toBe(false);
    expect(matchEventPattern({ v: [null] }, {})).toBe(false);
    expect(matchEventPattern({ v: [{ exists: true }] }, { v: null })).toBe(true);
    expect(matchEventPattern({ v: [{ exists: false }] }, {})).toBe(true);
    expect(matchEventPattern({ v: [{ exists: false }] }, { v: 'x' })).toBe(false);
  });

  it('only sees leaves: exists does not match an object, and an empty array has no values', () => {
    expect(matchEventPattern({ v: [{ exists: true }] }, { v: { nested: 1 } })).toBe(false);
    expect(matchEventPattern({ v: [{ exists: false }] }, { v: [] })).toBe(true);
  });

  it('treats dot-joined event keys like nested ones, case-sensitively', () => {
    expect(matchEventPattern({ a: { b: ['x'] } }, { 'a.b': 'x' })).toBe(true);
    expect(matchEventPattern({ a: { b: ['x'] } }, { A: { b: 'x' } })).toBe(false);
  });

  it('matches prefix and suffix, optionally ignoring case, on strings only', () => {
    expect(matchEventPattern({ f: [{ prefix: 'img' }] }, { f: 'img-1.png' })).toBe(true);
    expect(matchEventPattern({ f: [{ prefix: 'IMG' }] }, { f: 'img-1.png' })).toBe(false);
    expect(matchEventPattern({ f: [{ prefix: { 'equals-ignore-case': 'IMG' } }] }, { f: 'img-1.png' })).toBe(true);
    expect(matchEventPattern({ f: [{ suffix: { 'equals-ignore-case': '.PNG' } }] }, { f: 'img-1.png' })).toBe(true);
    expect(matchEventPattern({ f: [{ prefix: '1' }] }, { f: 12 })).toBe(false);
    expect(matchEventPattern({ f: [{ prefix: '' }] }, { f: 'anything' })).toBe(true);
  });

  it('runs anything-but over values, prefixes, suffixes, wildcards and ignore-case, never on a missing field', () => {
    expect(matchEventPattern({ s: [{ 'anything-but': ['a', 'b'] }] }, { s: 'c' })).toBe(true);
    expect(matchEventPattern({ s: [{ 'anything-but': ['a', 'b'] }] }, { s: 'b' })).toBe(false);
    expect(matchEventPattern({ s: [{ 'anything-but': [1, 2] }] }, { s: '1' })).toBe(true);
    expect(matchEventPattern({ s: [{ 'anything-but': { prefix: 'us-' } }] }, { s: 'eu-west-1' })).toBe(true);
    expect(matchEventPattern({ s: [{ 'anything-but': { suffix: '.png' } }] }, { s: 'a.png' })).toBe(false);
    expect(matchEventPattern({ s: [{ 'anything-but': { 'equals-ignore-case': 'X' } }] }, { s: 'x' })).toBe(false);
    expect(matchEventPattern({ s: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, { s: 'a/lib/b' })).toBe(false);
    expect(matchEventPattern({ s: [{ 'anything-but': 'a' }] }, {})).toBe(false);
  });

  it('compares numbers with =, <, <=, >, >= and two-sided ranges, ignoring non-numbers', () => {
    const between = { n: [{ numeric: ['>', 10, '<=', 20] }] };
    expect(matchEventPattern(between, { n: 10 })).toBe(false);
    expect(matchEventPattern(between, { n: 10.5 })).toBe(true);
    expect(matchEventPattern(between, { n: 20 })).toBe(true);
    expect(matchEventPattern(between, { n: 20.01 })).toBe(false);
    expect(matchEventPattern(between, { n: '15' })).toBe(false);
    expect(matchEventPattern({ n: [{ numeric: ['=', 3.018e2] }] }, { n: 301.8 })).toBe(true);
    expect(matchEventPattern({ n: [{ numeric: ['<', 0] }] }, { n: -1 })).toBe(true);
    expect(matchEventPattern({ n: [{ numeric: ['>=', 5] }] }, { n: 5 })).toBe(true);
  });

  it('compares numbers to six decimal places within ±5e9, as the rule engine does', () => {
    expect(matchEventPattern({ n: [{ numeric: ['=', 0.3] }] }, { n: 0.1 + 0.2 })).toBe(false);
    expect(matchEventPattern({ n: [{ numeric: ['>', 0.000001] }] }, { n: 0.000002 })).toBe(true);
    expect(matchEventPattern({ n: [{ numeric: ['>', 0] }] }, { n: 6e9 })).toBe(false);
    expect(matchEventPattern({ n: [{ numeric: ['>=', -5e9, '<=', 5e9] }] }, { n: 5e9 })).toBe(true);
  });

  it('matches wildcards with * as any run of characters and \\* as a literal star', () => {
    expect(matchEventPattern({ p: [{ wildcard: '*.png' }] }, { p: 'dir/a.png' })).toBe(true);
    expect(matchEventPattern({ p: [{ wildcard: 'a*b' }] }, { p: 'ab' })).toBe(true);
    expect(matchEventPattern({ p: [{ wildcard: 'a\\*b' }] }, { p: 'a*b' })).toBe(true);
    expect(matchEventPattern({ p: [{ wildcard: 'a\\*b' }] }, { p: 'axb' })).toBe(false);
    expect(matchEventPattern({ p: [{ wildcard: 'a\\\\b' }] }, { p: 'a\\b' })).toBe(true);
    expect(matchEventPattern({ p: [{ wildcard: 'a.c' }] }, { p: 'abc' })).toBe(false);
  });

  it('matches IPv4 and IPv6 CIDR blocks against IP strings of the same family', () => {
    expect(matchEventPattern({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.7' })).toBe(true);
    expect(matchEventPattern({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.7' })).toBe(false);
    expect(matchEventPattern({ ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1::1' })).toBe(true);
    expect(matchEventPattern({ ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' })).toBe(false);
    expect(matchEventPattern({ ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '::1' })).toBe(false);
    expect(matchEventPattern({ ip: ['::1'] }, { ip: '0:0:0:0:0:0:0:1' })).toBe(true);
  });

  it('evaluates $or at any level, combined with the fields around it', () => {
    const pattern = { source: ['app'], detail: { $or: [{ a: ['1'] }, { b: { c: ['2'] } }] } };
    expect(matchEventPattern(pattern, { source: 'app', detail: { b: { c: '2' } } })).toBe(true);
    expect(matchEventPattern(pattern, { source: 'app', detail: { a: '1' } })).toBe(true);
    expect(matchEventPattern(pattern, { source: 'other', detail: { a: '1' } })).toBe(false);
    expect(matchEventPattern(pattern, { source: 'app', detail: { a: '2' } })).toBe(false);
  });

  it('applies fields written before and after an $or to every choice, and nests $or', () => {
    const pattern = { a: ['1'], $or: [{ b: ['2'] }, { $or: [{ c: ['3'] }, { e: ['5'] }] }], d: ['4'] };
    expect(matchEventPattern(pattern, { a: '1', b: '2', d: '4' })).toBe(true);
    expect(matchEventPattern(pattern, { a: '1', e: '5', d: '4' })).toBe(true);
    expect(matchEventPattern(pattern, { a: '1', c: '3' })).toBe(false);
    expect(matchEventPattern(pattern, { b: '2', d: '4' })).toBe(false);
  });

  it('matches typical CodePipeline state-change rules', () => {
    const pattern = {
      source: ['aws.codepipeline'],
      'detail-type': ['CodePipeline Pipeline Execution State Change'],
      detail: { state: ['FAILED', 'STOPPED'] },
    };
    const event = {
      source: 'aws.codepipeline',
      'detail-type': 'CodePipeline Pipeline Execution State Change',
      detail: { pipeline: 'app', state: 'FAILED' },
    };
    expect(matchEventPattern(pattern, event)).toBe(true);
    expect(matchEventPattern(pattern, { ...event, detail: { state: 'SUCCEEDED' } })).toBe(false);
  });
});

describe('event pattern validation', () => {
  it.each([
    ['[]', 'Filter is not an object'],
    [{}, 'Empty objects are not allowed'],
    [{ a: {} }, 'Empty objects are not allowed'],
    [{ a: [] }, 'Empty arrays are not allowed'],
    [{ a: 'x' }, '"a" must be an object or an array'],
    [{ a: [['x']] }, 'Match value must be String, number, true, false, or null'],
    [{ a: [{}] }, 'Match expression name not found'],
    [{ a: [{ prefix: 'x', suffix: 'y' }] }, 'Only one key allowed in match expression'],
    [{ a: [{ regex: 'x' }] }, 'Unrecognized match type regex'],
    [{ a: [{ exists: 'yes' }] }, 'exists match pattern must be either true or false.'],
    [{ a: [{ numeric: ['>', 5, '<', 1] }] }, 'Bottom must be less than top'],
    [{ a: [{ numeric: ['<', 5, '>', 1] }] }, 'Too many elements in numeric expression'],
    [{ a: [{ numeric: ['>', 1, '<', 5, 7] }] }, 'Too many terms in numeric range expression'],
    [{ a: [{ numeric: ['!=', 1] }] }, 'Unrecognized numeric range operator: !='],
    [{ a: [{ numeric: [] }] }, 'Invalid member in numeric match: ]'],
    [{ a: [{ numeric: ['>', 5e9 + 1] }] }, 'Value must be between -5.0E9 and 5.0E9, inclusive'],
    [{ a: [{ numeric: ['=', 0.1234567] }] }, 'Only values upto 6 decimals are supported'],
    [{ a: [{ 'anything-but': [1, 6e9] }] }, 'Value must be between -5.0E9 and 5.0E9, inclusive'],
    [
      { a: [{ 'anything-but': [] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    ],
    [
      { a: [{ 'anything-but': ['x', 1] }] },
      'Inside anything but list, either all values are number or string, mixed type is not supported',
    ],
    [{ a: [{ 'anything-but': [true] }] }, 'Inside anything but list, start|null|boolean is not supported.'],
    [{ a: [{ 'anything-but': { exists: true } }] }, 'Unsupported anything-but pattern: exists'],
    [{ a: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2'],
    [{ a: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
    [{ a: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer'],
    [{ a: [{ cidr: '10.0.0.256/24' }] }, 'Invalid IP address: 10.0.0.256'],
    [{ a: [{ prefix: { 'equals-ignore-case': 1 } }] }, 'equals-ignore-case match pattern must be a string'],
    [{ a: [{ prefix: { exists: true } }] }, 'Unsupported prefix pattern: exists'],
    [{ $or: [{ a: ['1'] }] }, 'There must have at least 2 Objects in $or relationship.'],
    [{ $or: { a: ['1'] } }, 'It must be an Array followed with $or.'],
    [{ $or: [{ a: ['1'] }, 'b'] }, 'Only JSON object is allowed in array of $or relationship.'],
    [{ $or: [{ prefix: ['1'] }, { b: ['2'] }] }, 'prefix is Ruler reserved fieldName which cannot be used inside $or.'],
  ])('rejects %j: %s', (pattern, expected) => {
    expect(reason(pattern)).toBe(expected);
  });

  it('rejects text that is not JSON', () => {
    expect(reason('{"a": [')).toMatch(/^Filter is not valid JSON/);
  });

  it('accepts every documented operator', () => {
    expect(() =>
      compilePattern({
        a: ['x', 1, null, true, { prefix: 'p' }, { suffix: 's' }, { 'equals-ignore-case': 'E' }],
        b: [{ 'anything-but': { 'equals-ignore-case': ['x', 'y'] } }, { 'anything-but': { wildcard: '*x*' } }],
        c: [{ numeric: ['>=', 0, '<', 10] }, { exists: false }, { cidr: '192.168.0.0/16' }, { wildcard: 'a*b' }],
        $or: [{ d: ['1'] }, { e: { f: ['2'] } }],
      }),
    ).not.toThrow();
  });
});
