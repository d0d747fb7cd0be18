import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { awsErrorName, ConfigError, toDomainError } from '../errors.ts';
import type { EmailMessage, Mailer } from '../ports.ts';

/** Loaded with this module on first use (wiring.ts), so the client tree-shakes with the command it sends. */
export { SESv2Client } from '@aws-sdk/client-sesv2';

/** Sends one email through SES v2 (`SendEmail`, simple content). One message per call; callers fan out per recipient. */
export class SesMailer implements Mailer {
  readonly #client: SESv2Client;
  readonly #from: string;
  readonly #configurationSetName: string | undefined;

  constructor(client: SESv2Client, from: string, configurationSetName?: string) {
    this.#client = client;
    this.#from = from;
    this.#configurationSetName = configurationSetName;
  }

  async send(message: EmailMessage): Promise<{ messageId: string }> {
    try {
      const out = await this.#client.send(
        new SendEmailCommand({
          FromEmailAddress: this.#from,
          Destination: { ToAddresses: [...message.to] },
          Content: {
            Simple: {
              Subject: { Data: message.subject, Charset: 'UTF-8' },
              Body: {
                Text: { Data: message.text, Charset: 'UTF-8' },
                ...(message.html ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}),
              },
            },
          },
          ...(this.#configurationSetName ? { ConfigurationSetName: this.#configurationSetName } : {}),
        }),
      );
      return { messageId: out.MessageId ?? '' };
    } catch (err) {
      throw sesError(err);
    }
  }
}

/** SES refusals that no retry fixes: the sender, the account or the message needs attention. */
const REFUSED = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'BadRequestException',
  'NotFoundException',
]);

/**
 * Types SES failures: a refusal is a (non-retryable) ConfigError naming SES's reason, so a notification is not
 * retried for hours against an unverified sender; throttling (the SDK counts SES's `LimitExceededException`,
 * the sending quota, as throttling), 5xx and network errors go through the common mapping (UnavailableError).
 */
export const sesError = (err: unknown): Error => {
  const name = awsErrorName(err);
  if (name !== undefined && REFUSED.has(name)) {
    return new ConfigError(`ses SendEmail: ${name}: ${(err as Error).message}`, { cause: err });
  }
  return toDomainError(err, 'ses SendEmail');
};
