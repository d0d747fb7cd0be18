import { join } from 'node:path';
import type { RawRequest, RestService } from '../types.ts';
import { S3Backend } from './backend.ts';
import { makeOperations } from './operations.ts';
import { handleRest } from './rest.ts';

export type S3Options = {
  /** Where object bytes are kept; default `${STAGECREW_STATE_DIR ?? '.stagecrew'}/s3`, resolved on first use. */
  dataDir?: string;
};

/** Local S3 (restXml, path-style `/<bucket>/<key>`): buckets, objects, versions and delete markers. */
export const createS3Service = (options: S3Options = {}): RestService => {
  let dir = options.dataDir;
  const backend = new S3Backend(() => {
    dir ??= join(process.env.STAGECREW_STATE_DIR ?? '.stagecrew', 's3');
    return dir;
  });
  const operations = makeOperations(backend);
  return {
    protocol: 'rest-xml',
    id: 's3',
    signingName: 's3',
    operations,
    handle: (request: RawRequest, ctx) => handleRest(request, ctx, operations, backend),
  };
};

export const service = createS3Service();
