import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dashboardPage } from '#local/dashboard/page';

/**
 * The dashboard's script is a string inside a TypeScript template literal: an escape that the literal eats (a
 * `\'` becomes `'`) breaks the whole page at parse time, which only a browser would notice. Parse it here.
 */
describe('local dashboard page', () => {
  it('carries one nonce’d script that parses, and a CSP naming that nonce', () => {
    const { html, csp } = dashboardPage();
    const scripts = [...html.matchAll(/<script nonce="([^"]+)">([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    const [, nonce, code] = scripts[0] as RegExpMatchArray;
    expect(csp).toContain(`script-src 'nonce-${nonce}'`);
    expect(() => new Script(code as string)).not.toThrow();
  });
});
