import { lambdaHandler } from '#core/handler';
export const handler = lambdaHandler(async (_e: unknown) => ({ ok: true }));
