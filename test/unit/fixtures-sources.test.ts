import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../events/', import.meta.url);
const sources = readFileSync(new URL('SOURCES.md', DIR), 'utf8');

/** The table's first column: a file name, or a brace pattern (`a-{b,c}-*.json`) covering several. */
const rows = sources
  .split('\n')
  .filter((l) => l.startsWith('| `'))
  .map((l) => {
    const cells = l.split('|').map((c) => c.trim());
    return {
      names: [...(cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string),
      kind: cells[2],
      source: cells[3],
    };
  });

const toRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.]/g, '\\.')
      .replace(/\{([^}]+)\}/g, (_m, alts: string) => `(${alts.split(',').join('|')})`)
      .replace(/\*/g, '[^/]*')}$`,
  );

describe('events/SOURCES.md', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('names the source of every fixture in events/', () => {
    const unlisted = files.filter((f) => !rows.some((r) => r.names.some((n) => toRegExp(n).test(f))));
    expect(unlisted).toEqual([]);
  });

  it('lists no fixture that does not exist, and each row says its kind and source', () => {
    for (const r of rows) {
      for (const n of r.names)
        expect(
          files.some((f) => toRegExp(n).test(f)),
          n,
        ).toBe(true);
      expect(['published', 'derived', 'scenario']).toContain(r.kind);
      expect((r.source ?? '').length).toBeGreaterThan(20);
    }
  });

  it('keeps published nulls: the approval messages carry null, not an absent field', () => {
    const raw = readFileSync(new URL('sns-approval-null-link-and-data.json', DIR), 'utf8');
    expect(raw).toContain('\\"externalEntityLink\\":null');
    expect(raw).toContain('\\"customData\\":null');
  });
});
