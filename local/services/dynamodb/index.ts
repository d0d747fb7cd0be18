import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import type { StateStore } from '../../store/store.ts';
import { AwsError, type Logger } from '../types.ts';

/**
 * DynamoDB is the embedded dynalite (LevelDB on disk under the state dir), listening on a private loopback port;
 * the local endpoint proxies `DynamoDB_20120810.*` requests to it unchanged. dynalite lacks TTL, so
 * `UpdateTimeToLive`/`DescribeTimeToLive` are answered here and expired items are swept periodically.
 */
const TTL_NS = 'dynamodb:ttl';
const TARGET = 'DynamoDB_20120810';

export class DynamoDb {
  readonly #server: Server;
  readonly #store: StateStore;
  readonly #log: Logger;
  #port = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: { dir: string; store: StateStore; log: Logger }) {
    mkdirSync(options.dir, { recursive: true });
    this.#server = dynalite({
      path: join(options.dir, 'leveldb'),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    this.#store = options.store;
    this.#log = options.log;
  }

  async start(sweepEveryMs = 60_000): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    if (sweepEveryMs > 0) {
      this.#sweeper = setInterval(() => void this.sweepExpired().catch(() => undefined), sweepEveryMs);
      this.#sweeper.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Answers the operations dynalite lacks; undefined means "forward to dynalite". */
  #local(operation: string, input: Record<string, unknown>): Record<string, unknown> | undefined {
    if (operation === 'UpdateTimeToLive') {
      const spec = input.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      if (typeof input.TableName !== 'string' || !spec?.AttributeName || typeof spec.Enabled !== 'boolean') {
        throw new AwsError(
          'ValidationException',
          'TableName and TimeToLiveSpecification{AttributeName, Enabled} are required',
        );
      }
      if (spec.Enabled) this.#store.put(TTL_NS, input.TableName, spec.AttributeName);
      else this.#store.delete(TTL_NS, input.TableName);
      return { TimeToLiveSpecification: spec };
    }
    if (operation === 'DescribeTimeToLive' && typeof input.TableName === 'string') {
      const attr = this.#store.get<string>(TTL_NS, input.TableName);
      return {
        TimeToLiveDescription: attr
          ? { TimeToLiveStatus: 'ENABLED', AttributeName: attr }
          : { TimeToLiveStatus: 'DISABLED' },
      };
    }
    return undefined;
  }

  /** Proxies one HTTP request (body already read) to dynalite. */
  /** Forwards a DynamoDB request to dynalite; with `discard`, the answer is read and thrown away (fault tests). */
  async proxy(req: IncomingMessage, body: Buffer, res: ServerResponse, discard = false): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    if (operation === 'UpdateTimeToLive' || operation === 'DescribeTimeToLive') {
      try {
        const out = this.#local(operation, JSON.parse(body.toString('utf8') || '{}'));
        if (out) {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(out));
          return;
        }
      } catch (err) {
        const e =
          err instanceof AwsError ? err : new AwsError('SerializationException', 'Request body is not valid JSON');
        res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': e.code });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${e.code}`, message: e.message }));
        return;
      }
    }
    await new Promise<void>((resolve, reject) => {
      const headers = { ...req.headers, host: `127.0.0.1:${this.#port}`, 'content-length': String(body.length) };
      const upstream = httpRequest(
        { host: '127.0.0.1', port: this.#port, method: req.method, path: req.url, headers },
        (up) => {
          if (discard) {
            up.resume();
            up.on('end', resolve);
            up.on('error', reject);
            return;
          }
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
          up.on('end', resolve);
          up.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  /** In-process call (Step Functions aws-sdk tasks, the dashboard, start-up wiring). */
  async call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const local = this.#local(operation, input);
    if (local) return local;
    const response = await fetch(`http://127.0.0.1:${this.#port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${TARGET}.${operation}`,
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
      },
      body: JSON.stringify(input),
    });
    const out = (await response.json()) as Record<string, unknown>;
    if (!response.ok) {
      const type = String(out.__type ?? 'InternalFailure');
      throw new AwsError(
        type.slice(type.indexOf('#') + 1),
        String(out.message ?? out.Message ?? 'DynamoDB error'),
        response.status,
      );
    }
    return out;
  }

  /** Creates a table unless it exists (start-up wiring is idempotent). */
  async ensureTable(createTable: Record<string, unknown>, ttlAttribute?: string): Promise<void> {
    try {
      await this.call('CreateTable', createTable);
    } catch (err) {
      if (!(err instanceof AwsError) || err.code !== 'ResourceInUseException') throw err;
    }
    if (ttlAttribute) {
      await this.call('UpdateTimeToLive', {
        TableName: createTable.TableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      });
    }
  }

  /** Deletes items whose TTL attribute (epoch seconds) is in the past, as DynamoDB does eventually. */
  async sweepExpired(now = Date.now()): Promise<number> {
    let deleted = 0;
    for (const [table, attr] of this.#store.list<string>(TTL_NS)) {
      const desc = (await this.call('DescribeTable', { TableName: table }).catch(() => undefined)) as
        | { Table?: { KeySchema?: Array<{ AttributeName: string }> } }
        | undefined;
      const keys = desc?.Table?.KeySchema?.map((k) => k.AttributeName) ?? [];
      if (keys.length === 0) continue;
      let start: Record<string, unknown> | undefined;
      do {
        const page = (await this.call('Scan', {
          TableName: table,
          FilterExpression: '#t < :now',
          ExpressionAttributeNames: { '#t': attr },
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        })) as { Items?: Array<Record<string, unknown>>; LastEvaluatedKey?: Record<string, unknown> };
        for (const item of page.Items ?? []) {
          await this.call('DeleteItem', { TableName: table, Key: Object.fromEntries(keys.map((k) => [k, item[k]])) });
          deleted++;
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    if (deleted > 0) this.#log.info('expired items deleted', { deleted });
    return deleted;
  }
}
