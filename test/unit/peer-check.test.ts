/**
 * The Runtime API's peer check, host side, with real loopback connections and real processes:
 * finding the client socket of a connection (sock_diag helper and /proc/net/tcp), which process
 * holds it, the verdicts and their logging, and RuntimeApiServer's handling of a connection before,
 * after and without its approval.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RuntimeApiServer } from '../../src/engine/index.js';
import { PeerCheck, type PeerRefusal, type PeerSubject } from '../../src/sandbox/peers.js';
import { processTree } from '../../src/sandbox/procfs.js';
import { ProcSocketOwners, openSocketOwners, tableKeys, tableRows, type ConnectionEnds, type SocketOwners } from '../../src/sandbox/sockets.js';
import { eventually } from '../helpers/wait.js';

/** A loopback connection made by this process: the server's view of it, and the client socket's inode. */
async function connection(): Promise<{ ends: ConnectionEnds; inode: number; client: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const socket = await accepted;
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  const inode = Number(/socket:\[(\d+)\]/.exec(fs.readlinkSync(`/proc/self/fd/${fd}`))?.[1]);
  const ends = { remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0 };
  return {
    ends,
    inode,
    client,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

describe('/proc/net/tcp rows', () => {
  test('an IPv4 connection is looked for in tcp and, v4-mapped, in tcp6 (host byte order, as the kernel prints it)', () => {
    const keys = tableKeys({ remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 8080 });
    assert.deepEqual(keys, ['0100007F:9C40 0100007F:1F90', '0000000000000000FFFF00000100007F:9C40 0000000000000000FFFF00000100007F:1F90']);
    assert.deepEqual(tableKeys({ remoteAddress: '::ffff:127.0.0.1', remotePort: 1, localAddress: '::ffff:127.0.0.1', localPort: 2 }), [
      '0100007F:0001 0100007F:0002',
      '0000000000000000FFFF00000100007F:0001 0000000000000000FFFF00000100007F:0002',
    ]);
    assert.deepEqual(tableKeys({ remoteAddress: '::1', remotePort: 1, localAddress: '::1', localPort: 2 }), [
      '00000000000000000000000001000000:0001 00000000000000000000000001000000:0002',
    ]);
    assert.deepEqual(tableKeys({ remoteAddress: 'nonsense', remotePort: 1, localAddress: '::1', localPort: 2 }), []);
  });

  test("a row's local and remote columns, uid and inode", () => {
    const text =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000   993        0 4242 1 0000000000000000 20 4 30 10 -1\n';
    assert.deepEqual([...tableRows(text)], [{ key: '0100007F:9C40 0100007F:1F90', uid: 993, inode: 4242 }]);
  });
});

for (const method of ['sock_diag', 'proc'] as const) {
  describe(`finding the client socket (${method})`, () => {
    let owners: SocketOwners;
    before(async () => {
      owners = method === 'proc' ? new ProcSocketOwners() : await openSocketOwners((reason) => assert.fail(reason));
      assert.equal(owners.method, method);
    });
    after(() => owners.close());

    test('gives the client socket and the pid holding it; none of other pids', async () => {
      const c = await connection();
      try {
        const mine = await owners.find(c.ends, [1, process.pid]);
        assert.deepEqual(mine, { inode: c.inode, uid: process.getuid?.() ?? 0, holder: process.pid });
        const others = await owners.find(c.ends, [1]);
        assert.equal(others?.inode, c.inode);
        assert.equal(others?.holder, undefined);
      } finally {
        c.close();
      }
    });

    test('a connection that is gone is not found (or no process holds it)', async () => {
      const c = await connection();
      const ends = c.ends;
      c.close();
      await eventually(async () => {
        const found = await owners.find(ends, [process.pid]);
        return found === undefined || (found.holder === undefined && found.inode === 0);
      }, 'the closed connection to be gone');
    });

    test('many lookups at once are all answered', async () => {
      const cs = await Promise.all(Array.from({ length: 30 }, () => connection()));
      try {
        const found = await Promise.all(cs.map((c) => owners.find(c.ends, [process.pid])));
        assert.deepEqual(
          found.map((f) => f?.inode),
          cs.map((c) => c.inode),
        );
      } finally {
        for (const c of cs) c.close();
      }
    });
  });
}

test('/proc/net/tcp: lookups made in the same event-loop turn share one read', async () => {
  const cs = await Promise.all(Array.from({ length: 20 }, () => connection()));
  const owners = new ProcSocketOwners();
  const original = fs.promises.readFile;
  const reads: string[] = [];
  fs.promises.readFile = ((file: string, ...rest: unknown[]) => {
    reads.push(String(file));
    return (original as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
  }) as typeof fs.promises.readFile;
  try {
    const found = await Promise.all(cs.map((c) => owners.find(c.ends, [process.pid])));
    assert.ok(found.every((f) => f?.holder === process.pid));
    assert.deepEqual(reads, ['/proc/net/tcp'], 'one read for all 20 (all found in tcp, so tcp6 is not read)');
  } finally {
    fs.promises.readFile = original;
    for (const c of cs) c.close();
  }
});

test('sock_diag: when the helper dies, lookups go on through /proc/net/tcp', async () => {
  const reasons: string[] = [];
  const before = new Set(processTree(process.pid));
  const owners = await openSocketOwners((r) => reasons.push(r));
  const helper = processTree(process.pid).find((pid) => !before.has(pid));
  assert.ok(helper, 'the helper is a child of this process');
  const c = await connection();
  try {
    process.kill(helper, 'SIGKILL');
    await eventually(() => owners.method === 'proc', 'the fallback');
    assert.match(reasons.join(), /helper exited/);
    assert.equal((await owners.find(c.ends, [process.pid]))?.holder, process.pid);
  } finally {
    c.close();
    owners.close();
  }
});

test('sock_diag: a helper that stops answering is given up for /proc/net/tcp, and what it held is answered', async () => {
  const reasons: string[] = [];
  const before = new Set(processTree(process.pid));
  const owners = await openSocketOwners((r) => reasons.push(r));
  const helper = processTree(process.pid).find((pid) => !before.has(pid));
  assert.ok(helper);
  const c = await connection();
  try {
    process.kill(helper, 'SIGSTOP');
    const found = await owners.find(c.ends, [process.pid]);
    assert.equal(found?.holder, process.pid);
    assert.equal(owners.method, 'proc');
    assert.match(reasons.join(), /stopped answering/);
  } finally {
    c.close();
    owners.close();
  }
});

describe('PeerCheck', () => {
  let owners: SocketOwners;
  before(async () => {
    owners = await openSocketOwners();
  });
  after(() => owners.close());
  const subject = (envId: string, pids: () => number[]): PeerSubject => ({ envId, pids });

  test("accepts a connection held by one of the environment's processes; refuses one held by another process, with why", async () => {
    const refusals: PeerRefusal[] = [];
    const check = new PeerCheck(owners, (r) => refusals.push(r));
    const c = await connection();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      assert.deepEqual(await check.verify(subject('mine', () => [other.pid ?? 0, process.pid]), c.ends), { ok: true, pid: process.pid });
      const refused = await check.verify(subject('theirs', () => [other.pid ?? 0]), c.ends, { functionName: 'victim' });
      assert.equal(refused.ok, false);
      assert.equal(refusals.length, 1);
      assert.deepEqual(refusals[0], {
        functionName: 'victim',
        envId: 'theirs',
        peer: `127.0.0.1:${c.ends.remotePort}`,
        reason: 'the client socket is not held by a process of this environment',
        inode: c.inode,
        uid: process.getuid?.() ?? 0,
      });
      assert.deepEqual(await check.verify(subject('empty', () => []), c.ends), { ok: false, foreign: false, reason: 'the environment has no processes' });
      assert.equal(refusals.length, 1, 'an ending environment refuses quietly');
    } finally {
      other.kill('SIGKILL');
      c.close();
    }
  });

  test('refuses a holder that is no longer one of the environment\'s processes when the check ends (pid reuse)', async () => {
    const check = new PeerCheck(owners, undefined);
    const c = await connection();
    let calls = 0;
    try {
      const verdict = await check.verify(subject('leaving', () => (++calls === 1 ? [process.pid] : [])), c.ends);
      assert.deepEqual(verdict, { ok: false, foreign: true, reason: 'the holding process left the environment', inode: c.inode, uid: process.getuid?.() ?? 0 });
    } finally {
      c.close();
    }
  });

  test('logs at most 10 refusals a second, then says how many it left out', async () => {
    const refusals: PeerRefusal[] = [];
    let now = 0;
    const check = new PeerCheck(owners, (r) => refusals.push(r), () => now);
    const c = await connection();
    try {
      for (let i = 0; i < 15; i++) await check.verify(subject('flooded', () => [1]), c.ends);
      assert.equal(refusals.length, 10);
      now = 1000;
      await check.verify(subject('flooded', () => [1]), c.ends);
      assert.equal(refusals.length, 11);
      assert.equal(refusals[10]?.suppressed, 5);
    } finally {
      c.close();
    }
  });
});

describe('RuntimeApiServer with authorize', () => {
  async function exchange(port: number, request: string): Promise<{ answer: string; closed: boolean }> {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.write(request);
    return new Promise((resolve) => socket.on('close', () => resolve({ answer, closed: true })));
  }

  test('a refused connection is closed without an answer, and none of its requests reaches the listener', async () => {
    const seen: string[] = [];
    const asked: ConnectionEnds[] = [];
    const api = await RuntimeApiServer.listen({
      onNext: () => seen.push('next'),
      onResult: () => (seen.push('result'), true),
      onInitError: () => seen.push('init error'),
      authorize: (ends) => {
        asked.push(ends);
        return Promise.resolve(false);
      },
    });
    try {
      const port = Number(api.address.split(':')[1]);
      const body = '{"stolen":true}';
      const out = await exchange(
        port,
        `GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\nPOST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      assert.deepEqual(out, { answer: '', closed: true });
      assert.deepEqual(seen, []);
      assert.equal(asked.length, 1);
      assert.equal(asked[0]?.localPort, port);
      assert.equal(asked[0]?.remoteAddress, '127.0.0.1');
    } finally {
      api.close();
    }
  });

  test('requests sent before the connection is approved wait, then are served in order', async () => {
    let approve: (ok: boolean) => void = () => undefined;
    let asked = false;
    let nexts = 0;
    const api = await RuntimeApiServer.listen({
      onNext: () => nexts++,
      onResult: () => true,
      onInitError: () => undefined,
      authorize: () => {
        asked = true;
        return new Promise((resolve) => (approve = resolve));
      },
    });
    try {
      const socket = net.connect(Number(api.address.split(':')[1]), '127.0.0.1');
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      // A pipelined error report and poll, all before the approval. Once written, loopback bytes
      // sit in the server's socket; a few event-loop turns would let a reading server see them.
      await new Promise<void>((resolve) =>
        socket.write('POST /2018-06-01/runtime/init/error HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n', () => resolve()),
      );
      await eventually(() => asked, 'the check to begin');
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(nexts, 0);
      assert.equal(answer, '');
      approve(true);
      await eventually(() => nexts === 1, 'the poll to be served');
      api.deliver({ requestId: 'r1', payload: Buffer.from('{"a":1}'), deadlineMs: 0, invokedFunctionArn: 'arn', traceId: 't' });
      await eventually(() => answer.includes('{"a":1}'), 'the event');
      assert.match(answer, /^HTTP\/1\.1 202 Accepted[\s\S]*HTTP\/1\.1 200 OK[\s\S]*Lambda-Runtime-Aws-Request-Id: r1/);
      socket.destroy();
    } finally {
      api.close();
    }
  });

  test('closing the server ends connections still being checked', async () => {
    const api = await RuntimeApiServer.listen({
      onNext: () => undefined,
      onResult: () => true,
      onInitError: () => undefined,
      authorize: () => {
        asked = true;
        return new Promise<boolean>(() => undefined);
      },
    });
    let asked = false;
    const out = exchange(Number(api.address.split(':')[1]), 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n');
    await eventually(() => asked, 'the check to begin');
    api.close();
    assert.deepEqual(await out, { answer: '', closed: true });
  });
});
