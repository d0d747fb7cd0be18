import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '../errors.ts';
import { parseSettings, type Settings } from '../settings.ts';

/**
 * Settings (one SSM parameter holding a JSON document) through Powertools parameters, cached for `maxAge` seconds so
 * a change is picked up without a redeploy and without a call per invocation.
 */
export type SettingsSource = { settings(): Promise<Settings> };

export class SettingsStore implements SettingsSource {
  readonly #ssm: SSMProvider;
  readonly #name: string;
  readonly #maxAge: number;

  constructor(options: { name: string; client: SSMClient; maxAgeSeconds?: number }) {
    this.#ssm = new SSMProvider({ awsSdkV3Client: options.client });
    this.#name = options.name;
    this.#maxAge = options.maxAgeSeconds ?? 60;
  }

  async settings(): Promise<Settings> {
    const raw = await this.#ssm.get(this.#name, { transform: 'json', maxAge: this.#maxAge });
    if (raw === undefined) throw new ConfigError(`settings parameter ${this.#name} not found`);
    return parseSettings(raw);
  }
}
