/**
 * The pipeline-events ledger and timeline under a dropped answer, for real (dynalite): the write lands, the
 * connection drops (`ECONNRESET`), the deployed retry strategy sends it again. An event's claim must survive its
 * own retry, or the event would be skipped as "in progress" and never processed (EventBridge sees a success).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { DynamoEventLedger } from '#core/adapters/timeline-store';
import { clientSettings } from '#core/clients';
import { startDynalite } from '../helpers/dynalite.ts';
import { type FaultStep, scriptFaults } from '../helpers/sdk-faults.ts';

let db: Awaited<ReturnType<typeof startDynalite>>;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

const ledgerWith = (script: FaultStep[]) => {
  const client = new DynamoDBClient(clientSettings({}, { STAGECREW_LOCAL_ENDPOINT: db.endpoint }));
  const faults = scriptFaults(client, script, { passByDefault: true });
  return { faults, ledger: new DynamoEventLedger(createDocumentClient(client), db.tableName) };
};
const plain = () => new DynamoEventLedger(db.doc, db.tableName);
const NOW = new Date('2026-11-23T10:00:00Z');
let n = 0;

describe('event ledger claims whose answer is dropped (dynalite)', () => {
  it('the retry still holds the claim; a redelivery of the event is refused while it runs', async () => {
    const id = `evt-${++n}`;
    const { ledger, faults } = ledgerWith(['drop-after']);
    expect(await ledger.claim(id, NOW)).toMatchObject({ claimed: true });
    expect(faults.attempts.map((a) => a.step)).toEqual(['drop-after', 'pass']);
    expect(await plain().claim(id, NOW)).toEqual({ claimed: false, reason: 'in-progress' });
  });

  it('after completion a redelivery is a duplicate (done)', async () => {
    const id = `evt-${++n}`;
    const { ledger } = ledgerWith(['drop-after']);
    expect(await ledger.claim(id, NOW)).toMatchObject({ claimed: true });
    await ledger.complete(id, NOW);
    expect(await plain().claim(id, NOW)).toEqual({ claimed: false, reason: 'done' });
  });
});
