import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../errors.ts';
import * as z from '../schemas/zod.ts';

/**
 * Secrets (one Secrets Manager secret holding a JSON document) through Powertools parameters, cached for `maxAge`
 * seconds so a rotation is picked up without a redeploy and without a call per invocation.
 */
const secretsSchema = () =>
  z.object({
    linkKeyId: z._default(z.string().check(z.minLength(1)), 'k1'),
    linkSigningKey: z.string().check(z.minLength(32, 'linkSigningKey must be at least 32 characters')),
    /** Previous keys still accepted for verification during rotation: { keyId: key }. */
    previousLinkKeys: z._default(z.record(z.string(), z.string().check(z.minLength(32))), {}),
    slackBotToken: z._default(z.string(), ''),
    slackSigningSecret: z._default(z.string(), ''),
  });
export type StagecrewSecrets = z.infer<ReturnType<typeof secretsSchema>>;
// Built on first read: a schema at module level would keep this module (and zod's builders) in every bundle that
// imports the wiring module, even one that never reads a secret.
let schema: ReturnType<typeof secretsSchema> | undefined;

export type SecretsSource = { secrets(): Promise<StagecrewSecrets> };

export class SecretsStore implements SecretsSource {
  readonly #secrets: SecretsProvider;
  readonly #id: string;
  readonly #maxAge: number;

  constructor(options: { id: string; client: SecretsManagerClient; maxAgeSeconds?: number }) {
    this.#secrets = new SecretsProvider({ awsSdkV3Client: options.client });
    this.#id = options.id;
    this.#maxAge = options.maxAgeSeconds ?? 60;
  }

  async secrets(): Promise<StagecrewSecrets> {
    const raw = await this.#secrets.get(this.#id, { transform: 'json', maxAge: this.#maxAge });
    schema ??= secretsSchema();
    const parsed = schema.safeParse(raw);
    // Never include the secret's values in the error: only which fields are wrong.
    if (!parsed.success) {
      throw new ConfigError(`secret is malformed at: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    return parsed.data;
  }
}
