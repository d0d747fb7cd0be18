import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LocalService } from '../services/types.ts';

/**
 * Finds the emulated AWS services: every `local/services/<name>/index.ts` that exports `service`. Nobody edits a
 * registry to add one. Folders whose module exports no `service` (slack, dynamodb: wired by the server itself)
 * are skipped; a module that fails to load is reported and skipped, so one broken service never takes down the rest.
 */
export const discoverServices = async (
  dir: string,
  onError: (name: string, err: unknown) => void,
  /** Receives each module's `createService` (a fresh instance for another account and region), if it has one. */
  onFactory?: (id: string, create: () => LocalService) => void,
): Promise<LocalService[]> => {
  const found: LocalService[] = [];
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    try {
      const mod = (await import(pathToFileURL(join(dir, name, 'index.ts')).href)) as {
        service?: LocalService;
        createService?: () => LocalService;
      };
      if (mod.service) found.push(mod.service);
      if (mod.service && mod.createService) onFactory?.(mod.service.id, mod.createService);
    } catch (err) {
      onError(name, err);
    }
  }
  return found;
};

/** Service ids as `call()` and Step Functions `aws-sdk:<service>` ARNs name them, with common aliases. */
export const ALIASES: Record<string, string> = {
  events: 'eventbridge',
  cloudwatchevents: 'eventbridge',
  states: 'sfn',
  stepfunctions: 'sfn',
  ses: 'sesv2',
  secretsmanager: 'secretsmanager',
};
