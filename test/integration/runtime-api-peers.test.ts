/**
 * One function must not be able to use another function's Runtime API. Sandboxes share the host's
 * network, so function B can reach function A's Runtime API port (and can find it: /proc/net/tcp
 * lists the listeners). B tries `GET /invocation/next` (to steal A's events) and `POST
 * /invocation/{id}/response` with A's in-flight request id (to answer for A), while A is idle and
 * while A is being invoked: B's connections are closed without an answer, A's invocations answer
 * normally, B's attempts are in the server's log (warn) and not in A's.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FilterLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { pino } from 'pino';
import { zipEntries } from '../../src/code/index.js';
import { detectIsolation } from '../../src/sandbox/index.js';
import { Kumo } from '../../src/server/index.js';
import { Collector, RECORDER_SOURCE } from '../helpers/collector.js';
import { logsClient } from '../helpers/clients.js';
import { createNodeFunction } from '../helpers/functions.js';
import { TEST_CREDENTIALS } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';


const support = await detectIsolation();
const noSandbox =
  (support.kind !== 'bubblewrap' || support.cgroup === undefined) && `no bubblewrap sandbox with cgroups on this host: ${support.reasons.join('; ')}`;

/** The victim: reports each run to the collector (so the test learns its request id), may wait, returns its event and its Runtime API address. */
const VICTIM_SOURCE =
  "import fs from 'node:fs';\n" +
  RECORDER_SOURCE.replace(
    'return { echo: event };',
    "return { echo: event, api: process.env.AWS_LAMBDA_RUNTIME_API, id: context.awsRequestId, fromStem: fs.readFileSync('/proc/self/environ', 'latin1').split('\\0').includes('KUMO_STEM=1') };",
  );

/** The attacker: connects to the port it is given and tries the Runtime API there; reports what came back. */
const ATTACKER_SOURCE = `
const fs = require('node:fs');
const net = require('node:net');
function attempt(port, request) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let error;
    const timer = setTimeout(() => { socket.destroy(); resolve({ answer, closed: false, error }); }, 4000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', (e) => (error = e.code));
    socket.on('close', () => { clearTimeout(timer); resolve({ answer, closed: true, error }); });
  });
}
exports.handler = async (event) => {
  const portHex = event.port.toString(16).toUpperCase().padStart(4, '0');
  // What any function can read: the host's listening sockets (the network is shared).
  const visible = fs.readFileSync('/proc/net/tcp', 'latin1').split('\\n').some((l) => l.includes(':' + portHex + ' 00000000:0000 0A'));
  const body = JSON.stringify({ stolen: true });
  const [next, post] = await Promise.all([
    attempt(event.port, 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n'),
    attempt(event.port, 'POST /2018-06-01/runtime/invocation/' + (event.requestId ?? 'none') + '/response HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n' + body),
  ]);
  return { visible, next, post };
};
`;

interface Attempt {
  answer: string;
  closed: boolean;
  error?: string;
}

for (const mode of ['sandbox', 'process'] as const) {
  describe(`Runtime API peer check (${mode} isolation)`, { skip: mode === 'sandbox' && noSandbox }, () => {
    let kumo: Kumo;
    let lambda: LambdaClient;
    let logs: CloudWatchLogsClient;
    let collector: Collector;
    let dataDir: string;
    const serverLog: Array<Record<string, unknown>> = [];

    before(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-peers-test-'));
      collector = await Collector.start();
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString('utf8').split('\n')) if (line) serverLog.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      kumo = await Kumo.start({ port: 0, host: '127.0.0.1', dataDir, isolation: mode }, pino({ level: 'warn' }, sink));
      lambda = new LambdaClient({ endpoint: kumo.url, region: kumo.options.region, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
      logs = logsClient(kumo.url, kumo.options.region);
      await createNodeFunction(lambda, 'victim', await zipEntries([{ name: 'index.mjs', content: VICTIM_SOURCE }]), {
        Timeout: 30,
        Environment: { Variables: { COLLECT: collector.url } },
      });
      await createNodeFunction(lambda, 'attacker', await zipEntries([{ name: 'index.js', content: ATTACKER_SOURCE }]), { Timeout: 30 });
    });

    after(async () => {
      lambda?.destroy();
      logs?.destroy();
      await kumo?.close();
      await collector?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    async function invoke(name: string, event: object): Promise<{ error: string | undefined; body: Record<string, unknown> }> {
      const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }));
      return { error: out.FunctionError, body: JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<string, unknown> };
    }

    function assertShutOut(result: { error: string | undefined; body: Record<string, unknown> }): void {
      assert.equal(result.error, undefined, JSON.stringify(result.body));
      for (const what of ['next', 'post'] as const) {
        const attempt = result.body[what] as Attempt;
        assert.equal(attempt.answer, '', `${what}: the attacker got no byte back`);
        assert.equal(attempt.closed, true, `${what}: the connection was closed (not left hanging)`);
      }
    }

    let port = 0;
    let refusalsBefore = 0;

    test('while the victim is idle: the attacker gets nothing and the victim answers normally', async () => {
      // The victim's environment grows from a stem cell, whose Runtime API (and its check) existed before the function was known.
      await eventually(() => kumo.engineStats().readyStemCells >= 1, 'a stem cell to be ready');
      const first = await invoke('victim', { tag: 'first' });
      assert.equal(first.error, undefined, JSON.stringify(first.body));
      assert.equal(first.body.fromStem, true, 'the environment grew from a stem cell');
      port = Number(String(first.body.api).split(':')[1]);
      assert.ok(port > 0, `the victim's Runtime API port: ${String(first.body.api)}`);

      const attack = await invoke('attacker', { port });
      assertShutOut(attack);
      if (mode === 'sandbox') assert.equal(attack.body.visible, true, "a sandboxed function can see the victim's listener in /proc/net/tcp");

      // The victim's next event still reaches the victim (a GET /next the attacker had made would have taken it).
      const second = await invoke('victim', { tag: 'second' });
      assert.equal(second.error, undefined, JSON.stringify(second.body));
      assert.deepEqual((second.body.echo as { tag: string }).tag, 'second');
      assert.equal(second.body.api, first.body.api, 'the same (warm) environment');
      refusalsBefore = refusals().length;
      assert.ok(refusalsBefore >= 2, `the attempts are in the server's log: ${JSON.stringify(serverLog)}`);
    });

    test('while the victim is being invoked: the attacker cannot answer for it, and the victim answers normally', async () => {
      const busy = invoke('victim', { tag: 'busy', sleepMs: 1500 });
      await eventually(() => collector.of('victim').some((h) => (h.event as { tag?: string }).tag === 'busy'), 'the victim to be running');
      const requestId = collector.of('victim').find((h) => (h.event as { tag?: string }).tag === 'busy')?.id;
      assert.ok(requestId);

      const attack = await invoke('attacker', { port, requestId });
      assertShutOut(attack);

      const result = await busy;
      assert.equal(result.error, undefined, JSON.stringify(result.body));
      assert.equal(result.body.id, requestId);
      assert.equal((result.body.echo as { tag: string }).tag, 'busy', 'the answer is the victim\'s own');
      assert.ok(refusals().length >= refusalsBefore + 2);
    });

    test("the attempts are logged as server warnings naming the victim, and never in the victim's log", async () => {
      const lines = refusals();
      for (const line of lines) {
        assert.equal(line.functionName, 'victim');
        assert.match(String(line.peer), /^127\.0\.0\.1:\d+$/);
        assert.match(String(line.reason), /not held by a process of this environment/);
        if (mode === 'sandbox') assert.equal(line.uid, 993, 'the attacker runs as the sandbox user');
      }
      // Every victim invocation has its REPORT stored: its log is complete, and holds nothing of the attacker's.
      const events = async () =>
        (await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/victim' }))).events?.map((e) => e.message ?? '') ?? [];
      await eventually(async () => (await events()).filter((m) => m.startsWith('REPORT')).length >= 3, "the victim's log");
      const text = (await events()).join('\n');
      assert.doesNotMatch(text, /stolen|refused|Runtime API/i);
      assert.doesNotMatch(text, new RegExp(`127\\.0\\.0\\.1:(?!${port}\\b)\\d+`), "no attacker address in the victim's log");
    });

    function refusals(): Array<Record<string, unknown>> {
      return serverLog.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Runtime API: refused'));
    }
  });
}
