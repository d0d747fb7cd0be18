import { BatchDeleteImageCommand, type ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import { toDomainError } from '../errors.ts';
import type { ImageCleaner } from '../teardown/ports.ts';

/** Loaded with this module on first use (wiring.ts), so the client tree-shakes with the commands it sends. */
export { ECRClient } from '@aws-sdk/client-ecr';

/** Deletes every image of a repository an owned stack created, 100 per BatchDeleteImage (the API's maximum). */
export class EcrImageCleaner implements ImageCleaner {
  readonly #client: ECRClient;

  constructor(client: ECRClient) {
    this.#client = client;
  }

  async deleteImages(repositoryName: string): Promise<number> {
    let deleted = 0;
    let nextToken: string | undefined;
    try {
      do {
        const out = await this.#client.send(
          new ListImagesCommand({ repositoryName, maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
        );
        const ids = (out.imageIds ?? []).filter((i) => i.imageDigest || i.imageTag);
        if (ids.length > 0) {
          await this.#client.send(new BatchDeleteImageCommand({ repositoryName, imageIds: ids }));
          deleted += ids.length;
        }
        nextToken = out.nextToken;
      } while (nextToken);
      return deleted;
    } catch (err) {
      throw toDomainError(err, `deleting images of ${repositoryName}`);
    }
  }
}
