/**
 * The async promise under a real crash: thousands of Event invocations under load, `kill -9` of
 * `kumo server` in the middle of the stream, a restart on the same data directory, and then proof
 * that every event that got a 202 ran at least once (with the request id it was given) and that no
 * event ran after its maximum age: those that outlived it during the outage went to their
 * OnFailure destination as EventAgeExceeded instead.
 *
 * Async time runs 20 times faster (KUMO_ASYNC_TIME_SCALE=0.05): MaximumEventAgeInSeconds 60 is 3 s.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PutFunctionEventInvokeConfigCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { Collector, createRecorderFunction } from '../helpers/collector.js';
import { ServerProcess } from '../helpers/server-process.js';
import { eventually } from '../helpers/wait.js';

const SCALE = 0.05;
const MAX_AGE_MS = 60 * 1000 * SCALE;
const KILL_AFTER = 2400;
const CLIENTS = 32;
const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
/** How long an environment may take to start before the handler reports (the age check is at dispatch). */
const START_SLACK_MS = 1000;

let dataDir: string;
let server: ServerProcess | undefined;
let collector: Collector;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-async-crash-'));
  collector = await Collector.start();
});
after(async () => {
  await server?.stop('SIGKILL');
  await collector?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Ack {
  fn: 'steady' | 'aged';
  ackAt: number;
}

/** POST an Event invocation on a keep-alive socket; resolves with the 202's request id, or undefined on any failure. */
function sendEvent(agent: http.Agent, url: URL, fn: string, body: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/2015-03-31/functions/${fn}/invocations`,
        agent,
        headers: { 'X-Amz-Invocation-Type': 'Event', 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 202 ? String(res.headers['x-amzn-requestid']) : undefined));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

async function deploy(lambda: LambdaClient, name: string): Promise<void> {
  await createRecorderFunction(lambda, name, collector);
}

test('kill -9 under load loses no acknowledged event, and none runs after its maximum age', async () => {
  // Idle environments are frozen when the server is killed: the restart thaws and ends them.
  const env = { KUMO_ASYNC_TIME_SCALE: String(SCALE) };
  server = await ServerProcess.start(dataDir, env);
  const lambda = server.lambda();
  await deploy(lambda, 'steady'); // default maximum age: 6 h (18 min scaled), outlives the outage
  await deploy(lambda, 'aged'); // maximum age 60 s (3 s scaled), shorter than the outage
  await deploy(lambda, 'expired'); // the OnFailure destination of 'aged'
  await lambda.send(
    new PutFunctionEventInvokeConfigCommand({
      FunctionName: 'aged',
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: `${ARN}expired` } },
    }),
  );
  lambda.destroy();

  // Load: CLIENTS concurrent senders on keep-alive sockets; kill -9 once KILL_AFTER events are acknowledged.
  const acks = new Map<string, Ack>();
  const url = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  let sent = 0;
  let killed: Promise<unknown> | undefined;
  const live = server;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (!killed) {
        const n = sent++;
        const fn = n % 2 === 0 ? 'steady' : 'aged';
        const id = await sendEvent(agent, url, fn, Buffer.from(JSON.stringify({ n })));
        if (id !== undefined) acks.set(id, { fn, ackAt: Date.now() }); // even one answered as the kill lands
        if (acks.size >= KILL_AFTER && !killed) killed = live.stop('SIGKILL');
      }
    }),
  );
  const exit = (await killed) as { signal: NodeJS.Signals | null };
  assert.equal(exit.signal, 'SIGKILL');
  agent.destroy();
  const lastAck = Math.max(...[...acks.values()].map((a) => a.ackAt));
  const ranBeforeRestart = new Set(collector.hits.map((h) => h.id));
  assert.ok(acks.size >= KILL_AFTER, `only ${acks.size} events acknowledged`);
  assert.ok(
    [...acks.keys()].some((id) => !ranBeforeRestart.has(id)),
    'every event had run before the kill: the test did not crash mid-stream',
  );

  // The outage outlasts the aged function's maximum age.
  await eventually(() => Date.now() > lastAck + MAX_AGE_MS + 100, 'the outage to outlast 3 s', 10_000);
  const restartedAt = Date.now();
  server = await ServerProcess.start(dataDir, env);

  const ran = (id: string) => collector.byId(id).length > 0;
  const expiredRecord = (id: string) =>
    collector
      .of('expired')
      .some((h) => (h.event as { requestContext?: { requestId?: string; condition?: string } }).requestContext?.requestId === id);
  await eventually(
    () => [...acks].every(([id, a]) => ran(id) || (a.fn === 'aged' && expiredRecord(id))),
    'every acknowledged event to run (or, for the aged function, to be reported EventAgeExceeded)',
    90_000,
  );

  let steadyAfterRestart = 0;
  let agedExpired = 0;
  for (const [id, a] of acks) {
    const hits = collector.byId(id);
    for (const hit of hits) assert.equal(hit.fn, a.fn, `request id ${id} ran in the wrong function`);
    if (a.fn === 'steady') {
      assert.ok(hits.length >= 1, `acknowledged event ${id} never ran`);
      if (hits.some((h) => h.t >= restartedAt)) steadyAfterRestart++;
    } else {
      // Never after its maximum age: nothing of 'aged' runs after the restart (all were past it by
      // then), and what ran before the kill started within the age (plus an environment's start).
      for (const hit of hits) {
        assert.ok(hit.t < restartedAt, `aged event ${id} ran after the restart, past its maximum age`);
        assert.ok(hit.t <= a.ackAt + MAX_AGE_MS + START_SLACK_MS, `aged event ${id} ran ${hit.t - a.ackAt} ms after its 202`);
      }
      if (hits.length === 0) {
        assert.ok(expiredRecord(id), `aged event ${id} neither ran nor was reported`);
        agedExpired++;
      }
    }
  }
  const condition = new Set(
    collector.of('expired').map((h) => (h.event as { requestContext: { condition: string } }).requestContext.condition),
  );
  assert.deepEqual([...condition], ['EventAgeExceeded']);
  assert.ok(steadyAfterRestart > 0, 'no steady event was left for the restarted server: the kill came too late');
  assert.ok(agedExpired > 0, 'no aged event outlived its age: the kill came too late');
  console.log(
    `${acks.size} acknowledged (${sent} sent); steady events run after the restart: ${steadyAfterRestart}; ` +
      `aged events expired during the outage: ${agedExpired}; duplicate runs: ${collector.hits.length - new Set(collector.hits.map((h) => h.id)).size}`,
  );

  const stopped = await server.stop('SIGTERM');
  assert.deepEqual(stopped, { code: 0, signal: null }, server.output);
});
