import { type EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { toDomainError, UnavailableError } from '../errors.ts';
import type { EventPublisher } from '../ports.ts';

/** Publishes Stagecrew's own events (`source: stagecrew`) so users can build rules on them. */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(client: EventBridgeClient, busName = 'default') {
    this.#client = client;
    this.#busName = busName;
  }

  async publish(detailType: string, detail: Record<string, unknown>, resources: readonly string[] = []): Promise<void> {
    let out: PutEventsCommandOutput;
    try {
      out = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'stagecrew',
              DetailType: detailType,
              Detail: JSON.stringify(detail),
              Resources: [...resources],
              EventBusName: this.#busName,
            },
          ],
        }),
      );
    } catch (err) {
      throw toDomainError(err, 'events PutEvents');
    }
    // PutEvents reports per-entry failures in a 200 response: treat them as retryable.
    if ((out.FailedEntryCount ?? 0) > 0) {
      throw new UnavailableError(`events PutEvents: ${JSON.stringify(out.Entries)}`);
    }
  }
}
