import { join } from 'node:path';
import type { LocalContext, Operation, RawRequest, RestService } from '../types.ts';
import { S3Backend } from './backend.ts';
import { makeOperations } from './operations.ts';
import { handleRest } from './rest.ts';

export type S3Options = {
  /**
   * Where object bytes are kept. Default: `<ctx.stateDir>/s3` when the server provides its state directory,
   * else `${STAGECREW_STATE_DIR ?? '.stagecrew'}/s3`; resolved on first use.
   */
  dataDir?: string;
};

/** Local S3 (restXml, path-style `/<bucket>/<key>`): buckets, objects, versions and delete markers. */
export const createS3Service = (options: S3Options = {}): RestService => {
  let dir = options.dataDir;
  const locate = (ctx: LocalContext) => {
    dir ??= ctx.stateDir ? join(ctx.stateDir, 's3') : join(process.env.STAGECREW_STATE_DIR ?? '.stagecrew', 's3');
  };
  const backend = new S3Backend(() => {
    if (dir === undefined) throw new Error('S3 data directory used before any request');
    return dir;
  });
  const operations = Object.fromEntries(
    Object.entries(makeOperations(backend)).map(([name, op]): [string, Operation] => [
      name,
      (input, ctx) => {
        locate(ctx);
        return op(input, ctx);
      },
    ]),
  );
  return {
    protocol: 'rest-xml',
    id: 's3',
    signingName: 's3',
    operations,
    // Each started cloud re-locates: the module (and this service) is shared by every cloud in one process.
    start: (ctx) => {
      dir = options.dataDir;
      locate(ctx);
    },
    handle: (request: RawRequest, ctx) => {
      locate(ctx);
      return handleRest(request, ctx, operations, backend);
    },
  };
};

export const service = createS3Service();
