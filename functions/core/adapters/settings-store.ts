import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { clientSettings } from '../clients.ts';
import { ConfigError } from '../errors.ts';
import { parseSettings, type Settings } from '../settings.ts';

/**
 * Settings (SSM) and secrets (Secrets Manager) through Powertools parameters, cached for `maxAge` seconds so
 * a change is picked up without a redeploy and without a call per invocation.
 */
export const StagecrewSecrets = z.object({
  linkKeyId: z.string().min(1).default('k1'),
  linkSigningKey: z.string().min(32, 'linkSigningKey must be at least 32 characters'),
  /** Previous keys still accepted for verification during rotation: { keyId: key }. */
  previousLinkKeys: z.record(z.string(), z.string().min(32)).default({}),
  slackBotToken: z.string().default(''),
  slackSigningSecret: z.string().default(''),
});
export type StagecrewSecrets = z.infer<typeof StagecrewSecrets>;

export type SettingsSource = { settings(): Promise<Settings> };
export type SecretsSource = { secrets(): Promise<StagecrewSecrets> };

export class ParameterStore implements SettingsSource, SecretsSource {
  readonly #ssm: SSMProvider;
  readonly #secrets: SecretsProvider;
  readonly #settingsName: string;
  readonly #secretsId: string;
  readonly #maxAge: number;

  constructor(options: {
    settingsName: string;
    secretsId: string;
    maxAgeSeconds?: number;
    ssm?: SSMClient;
    secretsManager?: SecretsManagerClient;
  }) {
    this.#ssm = new SSMProvider({ awsSdkV3Client: options.ssm ?? new SSMClient(clientSettings()) });
    this.#secrets = new SecretsProvider({
      awsSdkV3Client: options.secretsManager ?? new SecretsManagerClient(clientSettings()),
    });
    this.#settingsName = options.settingsName;
    this.#secretsId = options.secretsId;
    this.#maxAge = options.maxAgeSeconds ?? 60;
  }

  async settings(): Promise<Settings> {
    const raw = await this.#ssm.get(this.#settingsName, { transform: 'json', maxAge: this.#maxAge });
    if (raw === undefined) throw new ConfigError(`settings parameter ${this.#settingsName} not found`);
    return parseSettings(raw);
  }

  async secrets(): Promise<StagecrewSecrets> {
    const raw = await this.#secrets.get(this.#secretsId, { transform: 'json', maxAge: this.#maxAge });
    const parsed = StagecrewSecrets.safeParse(raw);
    // Never include the secret's values in the error: only which fields are wrong.
    if (!parsed.success) {
      throw new ConfigError(`secret is malformed at: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    return parsed.data;
  }
}
