/**
 * Teardown: Step Functions state transitions per stack, for a deletion lasting 1, 10 and 60 simulated minutes.
 * Runs the real statemachines/teardown.asl.json under aws-local-stepfunctions (the workflow test harness: task
 * overrides over in-memory CloudFormation with a simulated clock) and counts StateEntered events of the stack's
 * Map iteration. Compared with a fixed 30-second polling loop (Wait → DescribeStacks → Choice), run the same way.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { EXECUTION, executionInput, newWorld, PIPELINE, runTeardown, stackArn } from '../test/workflow/harness.ts';

const MINUTES = [1, 10, 60];
const JITTER = [0, 0.5, 1];

const stagecrew = async (minutes: number, eventsLost: boolean, random: number) => {
  const w = newWorld();
  w.random = random;
  w.eventsLost = eventsLost;
  w.cloud.durationSeconds = minutes * 60;
  w.cloud.add({ stackName: 'test-a' });
  w.store.regs.push({ pipeline: PIPELINE, executionId: EXECUTION, stackId: stackArn('test-a'), stackName: 'test-a' });
  const start = w.now;
  await runTeardown(w, executionInput({ graceSeconds: 0 }));
  const outcome = w.store.outcomes[0]?.outcome;
  if (outcome !== 'DELETED') throw new Error(`expected DELETED, got ${outcome}`);
  return { transitions: w.transitions.get(0) ?? 0, detectedAfter: (w.now - start) / 1000 - minutes * 60 };
};

/** The usual alternative: a DescribeStacks poll every 30 s until DELETE_COMPLETE. */
const fixedPoll = async (minutes: number) => {
  let now = 0;
  const done = minutes * 60;
  const machine = new StateMachine({
    StartAt: 'Delete',
    States: {
      Delete: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:cloudformation:deleteStack',
        ResultPath: null,
        Next: 'Wait30',
      },
      Wait30: { Type: 'Wait', Seconds: 30, Next: 'Poll' },
      Poll: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:cloudformation:describeStacks',
        ResultPath: '$.s',
        Next: 'Done?',
      },
      'Done?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.s.status', StringEquals: 'DELETE_COMPLETE', Next: 'Deleted' }],
        Default: 'Wait30',
      },
      Deleted: { Type: 'Succeed' },
    },
  });
  const run = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: {
          Delete: () => ({}),
          Poll: () => {
            now += 30;
            return { status: now >= done ? 'DELETE_COMPLETE' : 'DELETE_IN_PROGRESS' };
          },
        },
        waitTimeOverrides: { Wait30: 0 },
      },
    },
  );
  let transitions = 0;
  for await (const ev of run.eventLogs) if (ev.type === 'StateEntered') transitions++;
  await run.result;
  return transitions;
};

const rows: string[] = [];
for (const m of MINUTES) {
  const events = await Promise.all(JITTER.map((r) => stagecrew(m, false, r)));
  const lost = await Promise.all(JITTER.map((r) => stagecrew(m, true, r)));
  const range = (xs: number[]) =>
    Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`;
  rows.push(
    `| ${m} min | ${range(events.map((e) => e.transitions))} | ${range(lost.map((e) => e.transitions))} (seen ${range(lost.map((e) => Math.round(e.detectedAfter / 60)))} min late) | ${await fixedPoll(m)} |`,
  );
}

console.log(`## Teardown: state transitions per stack

\`bench/teardown-transitions.ts\`: the real \`statemachines/teardown.asl.json\` under aws-local-stepfunctions with a
simulated clock; one owned stack whose DeleteStack takes the given time; transitions = states entered in the stack's
Map iteration (the run's own Start/Discover/Map/Finish states add 7 per run, not per stack). Ranges cover the jitter
draw (0, 0.5, 1). "Events lost" means no \`CloudFormation Stack Status Change\` event arrives, so only the
task-token timeouts (15 min, growing ×4 to 60 min, jittered −25 %) notice the deletion.

| Deletion lasts | Stagecrew, status event delivered | Stagecrew, events lost (fallback polling) | Fixed 30 s polling loop |
|---|---|---|---|
${rows.join('\n')}

Goal: ≤ 12 transitions per stack. With the event delivered the count depends only on how many 10→40→60 min
fallback timeouts pass before the deletion ends: 6 within the first (11–15 min), 3 more per elapsed timeout, so
12 up to 60 min and 3 more per further hour. The price is detection latency when events are lost (the fallback
is a safety net, not the mechanism); the fixed loop pays 6 transitions a minute whether events flow or not.`);
