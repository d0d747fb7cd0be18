import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { toDomainError } from '../errors.ts';
import type { EmailMessage, Mailer } from '../ports.ts';

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
      throw toDomainError(err, 'ses SendEmail');
    }
  }
}
