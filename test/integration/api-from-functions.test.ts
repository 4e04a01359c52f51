/**
 * Kumo's API seen from inside a function. Functions share the host's network, so a function can
 * connect to Kumo's port; what it may do there is what a narrow execution role allows on Lambda:
 * invoke functions and use SQS messages. Reading another function's code or configuration, the
 * logs, the metrics, or changing anything answers AccessDeniedException (403). The kernel says
 * which connections come from a function: with bubblewrap as root, the uid that made the client
 * socket; with plain processes (or bubblewrap's user namespace), whether an environment's process
 * holds it. Both are tested, each on its own server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GetFunctionCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { zipEntries } from '../../src/code/index.js';
import { sqsClient } from '../helpers/clients.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';

/** Calls Kumo's API with raw HTTP from inside the function; each answer is its status and error type. */
const PROBE = `
const http = require('node:http');
function call(method, path, headers, body) {
  return new Promise((resolve) => {
    const u = new URL(process.env.KUMO_API);
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['x-amzn-errortype'] || res.headers['x-amzn-query-error'] || null, body: data }));
    });
    req.on('error', (e) => resolve({ status: 0, type: e.code, body: '' }));
    req.end(body);
  });
}
const sqs = (action, input) => call('POST', '/', { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.' + action }, JSON.stringify(input));
exports.handler = async (event) => ({
  getFunction: await call('GET', '/2015-03-31/functions/api-victim'),
  getConfiguration: await call('GET', '/2015-03-31/functions/api-victim/configuration'),
  listFunctions: await call('GET', '/2015-03-31/functions/'),
  deleteFunction: await call('DELETE', '/2015-03-31/functions/api-victim'),
  codeLink: await call('GET', '/_kumo/code/anything'),
  metrics: await call('GET', '/metrics'),
  logs: await call('POST', '/', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.DescribeLogGroups' }, '{}'),
  invoke: await call('POST', '/2015-03-31/functions/api-victim/invocations', { 'content-type': 'application/json' }, '{"from":"probe"}'),
  invokeAsync: await call('POST', '/2015-03-31/functions/api-victim/invocations', { 'x-amz-invocation-type': 'Event' }, '{}'),
  sendMessage: await sqs('SendMessage', { QueueUrl: event.queueUrl, MessageBody: 'from a function' }),
  receiveMessage: await sqs('ReceiveMessage', { QueueUrl: event.queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 0 }),
  createQueue: await sqs('CreateQueue', { QueueName: 'made-by-a-function' }),
  purgeQueue: await sqs('PurgeQueue', { QueueUrl: event.queueUrl }),
  deleteQueueQuery: await call('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }, 'Action=DeleteQueue&QueueUrl=' + encodeURIComponent(event.queueUrl)),
  getQueueUrlQuery: await call('POST', '/', { 'content-type': 'application/x-www-form-urlencoded' }, 'Action=GetQueueUrl&QueueName=api-probe-queue'),
});
`;

interface Answer {
  status: number;
  type: string | null;
  body: string;
}

/**
 * The same request, with the socket passed away over a Unix socket while Kumo looks (so that no
 * process holds it) and taken back for the answer: a function must not get through that way.
 */
const IN_FLIGHT_PROBE = `
import os, socket, time

def fetch(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /2015-03-31/functions/api-victim HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    socket.send_fds(a, [b"x"], [s.fileno()])
    s.close()
    time.sleep(0.05)
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
    s = socket.socket(fileno=fds[0])
    a.close()
    b.close()
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("latin-1")

def handler(event, context):
    port = int(os.environ["KUMO_API"].rsplit(":", 1)[1])
    return [fetch(port) for _ in range(event["tries"])]
`;

for (const isolation of ['auto', 'process'] as const) {
  describe(`Kumo's API from inside a function (isolation ${isolation})`, () => {
    let queueUrl = '';
    const k = useKumo({ isolation }, async (kumo) => {
      await createNodeFunction(
        kumo.lambda,
        'api-victim',
        await zipEntries([{ name: 'index.js', content: 'exports.handler = async (e) => ({ victim: e });\n' }]),
        {
          Environment: { Variables: { SECRET: 'the victim keeps this' } },
        },
      );
      await createNodeFunction(kumo.lambda, 'api-probe', await zipEntries([{ name: 'index.js', content: PROBE }]), {
        Environment: { Variables: { KUMO_API: kumo.url } },
        Timeout: 30,
      });
      await createNodeFunction(kumo.lambda, 'api-in-flight', await zipEntries([{ name: 'probe.py', content: IN_FLIGHT_PROBE }]), {
        Runtime: 'python3.12',
        Handler: 'probe.handler',
        Environment: { Variables: { KUMO_API: kumo.url } },
        Timeout: 30,
      });
      const sqs = sqsClient(kumo.url);
      queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'api-probe-queue' }))).QueueUrl ?? '';
      sqs.destroy();
    });

    test('a function may invoke functions and use SQS messages, and nothing else', async () => {
      const out = await k.lambda.send(new InvokeCommand({ FunctionName: 'api-probe', Payload: Buffer.from(JSON.stringify({ queueUrl })) }));
      const payload = Buffer.from(out.Payload ?? []).toString();
      assert.equal(out.FunctionError, undefined, payload);
      const answers = JSON.parse(payload) as Record<string, Answer>;
      const denied = (name: string, type: RegExp = /^AccessDenied(Exception)?(;Sender)?$/): void => {
        const a = answers[name] ?? assert.fail(`no answer for ${name}`);
        assert.equal(a.status, 403, `${name}: ${JSON.stringify(a)}`);
        assert.match(a.type ?? '', type, `${name}: ${JSON.stringify(a)}`);
        assert.doesNotMatch(a.body, /the victim keeps this/);
      };
      for (const name of ['getFunction', 'getConfiguration', 'listFunctions', 'deleteFunction', 'codeLink', 'metrics', 'logs'])
        denied(name);
      for (const name of ['createQueue', 'purgeQueue']) denied(name, /^AccessDenied;Sender$/);
      // The query protocol answers in XML, with the code in the body.
      assert.equal(answers.deleteQueueQuery?.status, 403, JSON.stringify(answers.deleteQueueQuery));
      assert.match(answers.deleteQueueQuery?.body ?? '', /<Code>AccessDenied<\/Code>/);
      assert.match(answers.getFunction?.body ?? '', /not authorized to perform: GET \/2015-03-31\/functions\/api-victim/);

      assert.equal(answers.invoke?.status, 200, JSON.stringify(answers.invoke));
      assert.deepEqual(JSON.parse(answers.invoke?.body ?? ''), { victim: { from: 'probe' } });
      assert.equal(answers.invokeAsync?.status, 202, JSON.stringify(answers.invokeAsync));
      assert.equal(answers.sendMessage?.status, 200, JSON.stringify(answers.sendMessage));
      assert.equal(answers.receiveMessage?.status, 200, JSON.stringify(answers.receiveMessage));
      assert.match(answers.receiveMessage?.body ?? '', /from a function/);
      assert.equal(answers.getQueueUrlQuery?.status, 200, JSON.stringify(answers.getQueueUrlQuery));

      // Nothing the function was refused happened.
      const victim = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'api-victim' }));
      assert.equal(victim.Configuration?.Environment?.Variables?.SECRET, 'the victim keeps this');
      const sqs = sqsClient(k.url);
      try {
        const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
        assert.ok(attributes.Attributes, 'the queue is still there');
        const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
        assert.equal(left.Messages?.[0]?.Body, 'from a function', 'the queue was not purged');
      } finally {
        sqs.destroy();
      }
    });

    test('a socket passed away while Kumo looks (held by no process) is refused too', async () => {
      const out = await k.lambda.send(new InvokeCommand({ FunctionName: 'api-in-flight', Payload: Buffer.from('{"tries":10}') }));
      const payload = Buffer.from(out.Payload ?? []).toString();
      assert.equal(out.FunctionError, undefined, payload);
      const answers = JSON.parse(payload) as string[];
      assert.equal(answers.length, 10);
      for (const answer of answers) {
        assert.match(answer, /^HTTP\/1\.1 403 /, answer.slice(0, 200));
        assert.doesNotMatch(answer, /the victim keeps this/);
      }
    });
  });
}
