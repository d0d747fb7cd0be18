import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no browser download). STAGECREW_CHROMIUM overrides the binary;
 * otherwise the first chromium / chromium-browser / google-chrome on PATH is used.
 */
export const findChromium = (): string => {
  const explicit = process.env.STAGECREW_CHROMIUM;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error('no Chromium found: install it (apt-get install chromium) or set STAGECREW_CHROMIUM');
};

export type Browser = { context: BrowserContext; close(): Promise<void> };

/**
 * A headless Chromium with a fresh user-data-dir per run (no state from an earlier run or a person's profile) and
 * background networking off, so it makes no connections but the ones a test asks for.
 */
export const launchBrowser = async (): Promise<Browser> => {
  const profile = mkdtempSync(join(tmpdir(), 'stagecrew-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
};
