import { readdirSync, readFileSync } from 'node:fs';

const DIR = new URL('../../../events/', import.meta.url);

/** Every `events/eventbridge-codepipeline-*.json` fixture by its case name (`pipeline-failed`, …). */
export const fixtureNames = (): string[] =>
  readdirSync(DIR)
    .filter((f) => f.startsWith('eventbridge-codepipeline-') && f.endsWith('.json'))
    .map((f) => f.slice('eventbridge-codepipeline-'.length, -'.json'.length))
    .sort();

/** A fresh copy of one fixture (tests may mutate it). */
export const fixture = (name: string): Record<string, unknown> & { detail: Record<string, unknown> } =>
  JSON.parse(readFileSync(new URL(`eventbridge-codepipeline-${name}.json`, DIR), 'utf8'));
