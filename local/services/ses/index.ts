import { randomUUID } from 'node:crypto';
import { restJsonError, restJsonResponse } from '../../protocols/rest.ts';
import { Outbox } from '../../runtime/outbox.ts';
import { AwsError, type LocalContext, type RestService } from '../types.ts';

/** SES v2 (restJson): `POST /v2/email/outbound-emails` (SendEmail) captured in the outbox, never delivered. */
type SendEmailInput = {
  FromEmailAddress?: unknown;
  Destination?: { ToAddresses?: unknown; CcAddresses?: unknown; BccAddresses?: unknown };
  Content?: {
    Simple?: { Subject?: { Data?: unknown }; Body?: { Text?: { Data?: unknown }; Html?: { Data?: unknown } } };
    Raw?: { Data?: unknown };
    Template?: { TemplateName?: unknown; TemplateData?: unknown };
  };
};

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const sendEmail = (input: SendEmailInput, ctx: LocalContext) => {
  const to = [
    ...strings(input.Destination?.ToAddresses),
    ...strings(input.Destination?.CcAddresses),
    ...strings(input.Destination?.BccAddresses),
  ];
  if (to.length === 0) throw new AwsError('BadRequestException', 'Destination must name at least one recipient');
  if (to.length > 50) throw new AwsError('BadRequestException', 'A message may have at most 50 recipients');
  const from = typeof input.FromEmailAddress === 'string' ? input.FromEmailAddress : '';
  if (from === '') throw new AwsError('BadRequestException', 'FromEmailAddress is required for local SendEmail');
  const content = input.Content ?? {};
  let subject = '';
  let text = '';
  let html: string | undefined;
  if (content.Simple) {
    subject = String(content.Simple.Subject?.Data ?? '');
    text = String(content.Simple.Body?.Text?.Data ?? '');
    if (typeof content.Simple.Body?.Html?.Data === 'string') html = content.Simple.Body.Html.Data;
    if (text === '' && html === undefined)
      throw new AwsError('BadRequestException', 'Simple content needs a Text or Html body');
  } else if (content.Raw && typeof content.Raw.Data === 'string') {
    const raw = Buffer.from(content.Raw.Data, 'base64').toString('utf8');
    subject = /^Subject:\s*(.*)$/im.exec(raw)?.[1] ?? '';
    text = raw;
  } else if (content.Template) {
    subject = `template ${String(content.Template.TemplateName ?? '')}`;
    text = String(content.Template.TemplateData ?? '');
  } else {
    throw new AwsError('BadRequestException', 'Content must be Simple, Raw or Template');
  }
  const outbox = new Outbox(ctx.store, ctx.baseUrl);
  const message = outbox.addEmail({ from, to, subject, text, ...(html !== undefined ? { html } : {}) });
  ctx.log.info('email captured', { to: to.length, outboxId: message.id });
  return { MessageId: `local-${randomUUID()}` };
};

export const service: RestService = {
  protocol: 'rest-json',
  id: 'sesv2',
  signingName: 'ses',
  async handle(request, ctx) {
    if (request.method === 'POST' && request.path === '/v2/email/outbound-emails') {
      let input: SendEmailInput;
      try {
        input = JSON.parse(request.body.toString('utf8') || '{}') as SendEmailInput;
      } catch {
        return restJsonError(new AwsError('SerializationException', 'Request body is not valid JSON'));
      }
      try {
        return restJsonResponse(200, sendEmail(input, ctx));
      } catch (err) {
        if (err instanceof AwsError) return restJsonError(err);
        throw err;
      }
    }
    return restJsonError(
      new AwsError(
        'UnknownOperationException',
        `SES v2 ${request.method} ${request.path} is not supported locally`,
        404,
      ),
    );
  },
  operations: { SendEmail: (input: SendEmailInput, ctx: LocalContext) => sendEmail(input, ctx) },
};
