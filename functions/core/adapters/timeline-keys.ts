import type { RecordKey } from '../timeline/record.ts';

/** The table keys of a timeline record (the layout is documented in timeline-store.ts). */
export const timelineKeys = (key: RecordKey): { pk: string; sk: string } => {
  const pk = `EXEC#${key.executionId}`;
  switch (key.type) {
    case 'execution':
      return { pk, sk: 'EXECUTION' };
    case 'stage-execution':
      return { pk, sk: `STAGE#${key.stage}` };
    default:
      return { pk, sk: `ACTION#${key.stage}#${key.action}` };
  }
};
