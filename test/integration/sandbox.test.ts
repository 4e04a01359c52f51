/**
 * The isolation layer with real processes: each property is tested by trying to break it from
 * inside a sandbox. Parts this host cannot do are skipped with the detector's reason.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createV2Tree } from '../../src/sandbox/cgroup.js';
import { Isolation, SANDBOX_USER, SandboxError, detectIsolation, type SandboxLaunch, type SandboxSpec } from '../../src/sandbox/index.js';
import { repoPath } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const support = await detectIsolation();
const why = support.reasons.join('; ');
const noSandbox = support.kind !== 'bubblewrap' && `no bubblewrap on this host: ${why}`;
const noCgroup = support.cgroup === undefined && `no usable cgroups on this host: ${why}`;
const noFreezer = support.freezer !== 'cgroup' && `no cgroup freezer on this host: ${why}`;

let tmp: string;
let taskRoot: string;
let otherCode: string;
let dataDir: string;
let scratchDir: string;
const runtimeDir = repoPath('runtime', 'nodejs');
let counter = 0;

/** A started sandbox: its launch plan, process, output lines and exit. */
class Run {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly launch: SandboxLaunch,
    readonly child: ChildProcess,
  ) {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first output line matching `match` (waits for it to arrive). */
  async line(match: (line: string) => boolean, what = 'an output line'): Promise<string> {
    await eventually(() => this.lines.some(match), what, 20_000);
    return this.lines.find(match) ?? '';
  }

  /** `key=value` lines printed by the check scripts. */
  get values(): Map<string, string> {
    return new Map(this.lines.filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  get handle() {
    return this.launch.handle;
  }
}

function start(iso: Isolation, command: { file: string; args: string[] }, spec: Partial<SandboxSpec> = {}, stdin = false): Run {
  const launch = iso.command({
    envId: `t${process.pid}-${++counter}`,
    taskRoot,
    runtimeDir,
    scratchDir,
    command,
    memoryMb: 256,
    ephemeralStorageMb: 64,
    // The test machine is shared: most tests run at full speed; the CPU test checks the default quota.
    cpus: 'unlimited',
    env: {
      PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: runtimeDir,
      TMPDIR: scratchDir,
      NODE_PATH: `/opt/nodejs/node_modules:${taskRoot}`,
      HOST_PID: String(process.pid),
      DATA_DIR: dataDir,
      OTHER_CODE: otherCode,
    },
    ...spec,
  });
  const child = spawn(launch.file, launch.args, {
    env: launch.env,
    cwd: launch.cwd,
    detached: true,
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  launch.handle.attach(child.pid);
  return new Run(launch, child);
}

/** Runs a bash script inside (through the sandbox's /bin/sh, which must be bash). */
function sh(iso: Isolation, script: string, spec: Partial<SandboxSpec> = {}, stdin = false): Run {
  return start(iso, { file: '/bin/sh', args: ['-c', script] }, spec, stdin);
}

function node(iso: Isolation, file: string, spec: Partial<SandboxSpec> = {}): Run {
  return start(iso, { file: process.execPath, args: [path.join(taskRoot, file)] }, spec);
}

async function finished(run: Run): Promise<Run> {
  const exit = await run.exited;
  assert.equal(exit.code, 0, `sandboxed program failed (${exit.code ?? exit.signal}): ${run.stderr}`);
  return run;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-sandbox-test-'));
  fs.chmodSync(tmp, 0o755);
  taskRoot = path.join(tmp, 'task');
  otherCode = path.join(tmp, 'other-function');
  dataDir = path.join(tmp, 'data');
  scratchDir = path.join(tmp, 'scratch');
  for (const d of [taskRoot, otherCode, dataDir, scratchDir]) fs.mkdirSync(d, { mode: 0o755 });
  // World-readable on purpose: only the sandbox's view, not file modes, may keep the function out.
  fs.writeFileSync(path.join(dataDir, 'kumo.db'), 'secret database', { mode: 0o644 });
  fs.writeFileSync(path.join(otherCode, 'index.js'), 'other function', { mode: 0o644 });
  fs.writeFileSync(path.join(taskRoot, 'hello.txt'), 'hello from the code', { mode: 0o444 });
  fs.writeFileSync(
    path.join(taskRoot, 'bootstrap'),
    // AWS's tutorial custom runtime style: bash-isms under #!/bin/sh.
    '#!/bin/sh\nset -euo pipefail\n[[ -n "${BASH_VERSION:-}" ]] && echo "bootstrap-ran-under-bash=yes"\nsource /dev/null\n',
    { mode: 0o555 },
  );
  fs.writeFileSync(
    path.join(taskRoot, 'env.js'),
    `console.log(JSON.stringify({ cwd: process.cwd(), uid: process.getuid(), execPath: process.execPath,
      env: { LAMBDA_TASK_ROOT: process.env.LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR: process.env.LAMBDA_RUNTIME_DIR, TMPDIR: process.env.TMPDIR, PATH: process.env.PATH, NODE_PATH: process.env.NODE_PATH },
      runtime: require('node:fs').existsSync(process.env.LAMBDA_RUNTIME_DIR + '/bootstrap.mjs'),
      nofile: require('node:fs').readFileSync('/proc/self/limits', 'utf8').split('\\n').find((l) => l.startsWith('Max open files')) }));`,
    { mode: 0o444 },
  );
  fs.writeFileSync(path.join(taskRoot, 'heartbeat.js'), 'let i = 0; setInterval(() => console.log(`beat=${i++}`), 5);', { mode: 0o444 });
  fs.writeFileSync(
    path.join(taskRoot, 'hog.js'),
    'const keep = []; console.log("hogging=yes"); for (;;) keep.push(Buffer.alloc(8 << 20, 1));',
    { mode: 0o444 },
  );
  fs.writeFileSync(
    path.join(taskRoot, 'spin.js'),
    `const t0 = Date.now(); const c0 = process.cpuUsage(); while (Date.now() - t0 < 300) {}
     const c = process.cpuUsage(c0); console.log('ratio=' + ((c.user + c.system) / 1000 / (Date.now() - t0)).toFixed(3));`,
    { mode: 0o444 },
  );
  fs.writeFileSync(
    path.join(taskRoot, 'fetch.js'),
    'fetch(process.argv[2]).then((r) => r.text()).then((t) => console.log("fetched=" + t), (e) => console.log("fetched=error " + e.message));',
    { mode: 0o444 },
  );
  fs.chmodSync(taskRoot, 0o555);
});

after(() => {
  fs.chmodSync(taskRoot, 0o755);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('detection', () => {
  test('describes the host, with a reason for each part', () => {
    assert.ok(['bubblewrap', 'process'].includes(support.kind));
    assert.ok(support.reasons.length > 0);
    assert.equal(support.namespaces, support.kind === 'bubblewrap');
    assert.equal(support.freezer === 'cgroup', support.cgroup !== undefined);
    assert.equal(support.warning === undefined, support.kind === 'bubblewrap' && support.cgroup !== undefined);
    console.log(`# isolation on this host: ${support.kind}, cgroup ${support.cgroup ?? 'none'}, freezer ${support.freezer}\n#   ${why}`);
  });

  test('KUMO_ISOLATION=process forces the fallback, with one warning; a bad value is refused', async () => {
    const forced = await detectIsolation({ env: { KUMO_ISOLATION: 'process' } });
    assert.equal(forced.kind, 'process');
    assert.equal(forced.cgroup, undefined);
    assert.equal(forced.freezer, 'sigstop');
    assert.match(forced.reasons.join('\n'), /KUMO_ISOLATION=process/);
    assert.match(forced.warning ?? '', /weaker isolation/);
    await assert.rejects(detectIsolation({ env: { KUMO_ISOLATION: 'containers' } }), SandboxError);
  });

  test('`kumo doctor` prints the active isolation and why, and exits 0', async () => {
    const child = spawn(process.execPath, [repoPath('bin', 'kumo.js'), 'doctor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0);
    assert.match(stdout, /^Isolation: /m);
    assert.match(stdout, /^Why:/m);
    assert.ok(stdout.includes(support.kind === 'bubblewrap' ? 'bubblewrap sandbox' : 'plain processes'), stdout);
  });
});

describe('bubblewrap sandbox', { skip: noSandbox }, () => {
  let iso: Isolation;
  before(async () => {
    iso = await Isolation.create();
  });
  after(async () => {
    const parents = iso.cgroupParents;
    await iso.close();
    for (const dir of parents) assert.ok(!fs.existsSync(dir), `${dir} removed on close`);
  });

  test('the function sees its code read-only at /var/task, and not the data dir, other code, /root or /etc/shadow', async () => {
    const check = (name: string, cmd: string) => `if ${cmd} >/dev/null 2>&1; then echo ${name}=yes; else echo ${name}=no; fi`;
    const run = await finished(
      sh(
        iso,
        [
          'echo "pwd=$(pwd)"',
          'echo "code=$(cat /var/task/hello.txt)"',
          check('task_writable', 'touch /var/task/new'),
          check('root_writable', 'touch /new'),
          check('etc_writable', 'touch /etc/new'),
          check('opt_empty', '[ -d /opt ] && [ -z "$(ls -A /opt)" ]'),
          check('opt_writable', 'touch /opt/new'),
          check('data_dir', 'cat "$DATA_DIR/kumo.db"'),
          check('other_code', 'cat "$OTHER_CODE/index.js"'),
          check('home', 'ls /root'),
          check('shadow', 'cat /etc/shadow'),
          check('host_passwd_users', 'grep -v -E "^(root|sbx_user1051|nobody):" /etc/passwd'),
          check('certs', 'test -s /etc/ssl/certs/ca-certificates.crt'),
          check('resolv', 'test -r /etc/resolv.conf'),
          'echo "runtime=$(ls /var/runtime | grep -c bootstrap.mjs)"',
        ].join('\n'),
      ),
    );
    const v = run.values;
    assert.equal(v.get('pwd'), '/var/task');
    assert.equal(v.get('code'), 'hello from the code');
    assert.equal(v.get('task_writable'), 'no');
    assert.equal(v.get('root_writable'), 'no');
    assert.equal(v.get('etc_writable'), 'no');
    assert.equal(v.get('opt_empty'), 'yes');
    assert.equal(v.get('opt_writable'), 'no');
    assert.equal(v.get('data_dir'), 'no', 'the data directory is out of reach');
    assert.equal(v.get('other_code'), 'no', "another function's code is out of reach");
    assert.equal(v.get('home'), 'no', '/root is out of reach');
    assert.equal(v.get('shadow'), 'no', '/etc/shadow is out of reach');
    assert.equal(v.get('host_passwd_users'), 'no', "the host's users are not listed");
    assert.equal(v.get('resolv'), 'yes');
    if (fs.existsSync('/etc/ssl/certs/ca-certificates.crt')) assert.equal(v.get('certs'), 'yes');
    assert.equal(v.get('runtime'), '1');
  });

  test('it runs as an unprivileged user without capabilities, no_new_privs and 1,024 open files', async () => {
    const run = await finished(
      sh(
        iso,
        [
          'echo "uid=$(id -u)" "gid=$(id -g)"',
          'echo "user=$(id -un)"',
          'echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"',
          'echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"',
          'echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"',
          'echo "nofile=$(ulimit -n)"',
          'echo "hostname=$(cat /proc/sys/kernel/hostname)"',
        ].join('\n'),
      ),
    );
    const v = run.values;
    assert.equal(v.get('uid'), `${SANDBOX_USER.uid} gid=${SANDBOX_USER.gid}`);
    assert.equal(v.get('user'), SANDBOX_USER.name);
    assert.equal(v.get('capeff'), '0000000000000000');
    assert.equal(v.get('capbnd'), '0000000000000000');
    assert.equal(v.get('nnp'), '1');
    assert.equal(v.get('nofile'), '1024');
    assert.equal(v.get('hostname'), 'localhost');
  });

  test('it has its own PID namespace: it cannot see or signal host processes', async () => {
    const run = await finished(
      sh(
        iso,
        [
          'echo "pid=$$"',
          'echo "procs=$(ls /proc | grep -c "^[0-9]")"',
          'if kill -0 "$HOST_PID" 2>/dev/null; then echo host_visible=yes; else echo host_visible=no; fi',
          'echo "init=$(tr "\\0" " " < /proc/1/cmdline | cut -c1-40)"',
        ].join('\n'),
      ),
    );
    const v = run.values;
    assert.ok(Number(v.get('pid')) <= 3, `pid ${v.get('pid')} is small in a fresh namespace`);
    assert.ok(Number(v.get('procs')) <= 8, `only the sandbox's own processes are visible (${v.get('procs')})`);
    assert.equal(v.get('host_visible'), 'no');
    assert.match(v.get('init') ?? '', /bwrap/);
  });

  test('/bin/sh is bash, so #!/bin/sh custom runtimes with bash-isms work unchanged', async () => {
    const run = await finished(start(iso, { file: path.join(taskRoot, 'bootstrap'), args: [] }));
    assert.equal(run.values.get('bootstrap-ran-under-bash'), 'yes', run.stderr);
  });

  test('host paths become Lambda paths: code, runtime, node, TMPDIR, PATH', async () => {
    const run = await finished(node(iso, 'env.js'));
    const info = JSON.parse(run.lines[0] ?? '{}') as {
      cwd: string;
      uid: number;
      execPath: string;
      env: Record<string, string>;
      runtime: boolean;
      nofile: string;
    };
    assert.equal(info.cwd, '/var/task');
    assert.equal(info.uid, SANDBOX_USER.uid);
    assert.equal(info.execPath, '/var/lang/bin/node');
    assert.equal(info.env.LAMBDA_TASK_ROOT, '/var/task');
    assert.equal(info.env.LAMBDA_RUNTIME_DIR, '/var/runtime');
    assert.equal(info.env.TMPDIR, '/tmp');
    assert.equal(info.env.NODE_PATH, '/opt/nodejs/node_modules:/var/task');
    assert.ok(info.runtime, 'the runtime is at /var/runtime');
    assert.match(info.nofile, /Max open files\s+1024\s+1024/);
    const launch = run.launch;
    assert.equal(launch.layout.taskRoot, '/var/task');
    assert.equal(launch.layout.toSandbox(path.join(taskRoot, 'a', 'b.js')), '/var/task/a/b.js');
    assert.equal(launch.layout.toSandbox(path.join(runtimeDir, 'bootstrap.mjs')), '/var/runtime/bootstrap.mjs');
  });

  test('the network is shared: the function reaches a server on 127.0.0.1 (the Runtime API)', async () => {
    const server = http.createServer((_req, res) => res.end('pong'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const run = await finished(
        start(iso, { file: process.execPath, args: [path.join(taskRoot, 'fetch.js'), `http://127.0.0.1:${port}/`] }),
      );
      assert.equal(run.values.get('fetched'), 'pong');
    } finally {
      server.close();
    }
  });

  test('/tmp is writable, private to each sandbox, and capped at EphemeralStorage', async () => {
    const a = sh(iso, 'echo mine > /tmp/mine && echo written=yes && read _', {}, true);
    await a.line((l) => l === 'written=yes', 'sandbox A to write its /tmp');
    const b = await finished(
      sh(iso, 'if [ -e /tmp/mine ]; then echo sees_other=yes; else echo sees_other=no; fi; echo "w=$(touch /tmp/x && echo ok)"'),
    );
    assert.equal(b.values.get('sees_other'), 'no');
    assert.equal(b.values.get('w'), 'ok');
    assert.ok(!fs.existsSync(path.join(scratchDir, 'mine')) && !fs.existsSync('/tmp/mine'), 'nothing lands on the host');
    a.child.stdin?.end('\n');
    await finished(a);

    const capped = await finished(
      sh(
        iso,
        [
          'echo "size_kb=$(df -k /tmp | tail -1 | awk \'{print $2}\')"',
          // The message is captured in memory: the full /tmp could not hold it.
          'if msg=$(head -c 9437184 /dev/zero 2>&1 > /tmp/big); then echo overfill=ok; else echo "overfill=$msg"; fi',
        ].join('\n'),
        { ephemeralStorageMb: 8 },
      ),
    );
    if (support.tmpSizeCapped) {
      assert.equal(capped.values.get('size_kb'), '8192');
      assert.match(capped.values.get('overfill') ?? '', /No space left on device/);
    } else {
      console.log('# /tmp size cap not available on this host (bwrap without --size)');
    }
  });

  test(`freeze (${support.freezer}) stops the sandbox, thaw resumes it; peak memory is reported`, async () => {
    const run = node(iso, 'heartbeat.js');
    await run.line((l) => l.startsWith('beat='), 'a first heartbeat');
    assert.ok(run.handle.peakMemoryMb() >= 4, `peak ${run.handle.peakMemoryMb()} MB`);
    await run.handle.freeze();
    const control = node(iso, 'heartbeat.js');
    await control.line((l) => l === 'beat=5');
    const seen = run.lines.length;
    await control.line((l) => l === 'beat=40');
    assert.equal(run.lines.length, seen, 'no heartbeat while frozen');
    run.handle.thaw();
    await run.line(() => run.lines.length > seen, 'a heartbeat after thaw');
    await Promise.all([run.handle.destroy(), control.handle.destroy()]);
    await run.exited;
  });

  test('exit statuses come through bwrap: codes as they are, signals back as signals', async () => {
    const coded = sh(iso, 'exit 3');
    const c = await coded.exited;
    assert.deepEqual(coded.handle.runtimeExit(c.code, c.signal), { code: 3, signal: null });
    const killed = sh(iso, 'kill -SEGV $$');
    const k = await killed.exited;
    assert.deepEqual(killed.handle.runtimeExit(k.code, k.signal), { code: null, signal: 'SIGSEGV' });
  });
});

describe('cgroup limits', { skip: noSandbox || noCgroup }, () => {
  let iso: Isolation;
  before(async () => {
    iso = await Isolation.create();
  });
  after(async () => {
    await iso.close();
  });

  test('a memory hog is killed at MemorySize, and oomKilled() says so', { timeout: 60_000 }, async () => {
    const run = node(iso, 'hog.js', { memoryMb: 128 });
    const exit = await run.exited;
    assert.deepEqual(run.handle.runtimeExit(exit.code, exit.signal), { code: null, signal: 'SIGKILL' });
    assert.equal(run.handle.oomKilled(), true);
    const peak = run.handle.peakMemoryMb();
    assert.ok(peak >= 100 && peak <= 129, `peak ${peak} MB, near the 128 MB limit`);
    await run.handle.destroy();
    assert.equal(run.handle.oomKilled(), true, 'still known after destroy');

    const fine = await finished(sh(iso, 'echo ok=yes'));
    assert.equal(fine.handle.oomKilled(), false);
    assert.ok(fine.handle.peakMemoryMb() > 0);
    await fine.handle.destroy();
  });

  test('the pids limit stops a fork bomb at 1,024, and kill() ends all of it', { timeout: 120_000 }, async () => {
    // Half a vCPU: a polite bomb on a shared machine.
    const run = sh(iso, 'bomb() { bomb | bomb & }; bomb; exec sleep 1000', { memoryMb: 1024, cpus: 0.5 });
    await eventually(() => (run.handle.stats().pidsLimitHits ?? 0) > 0, 'the bomb to hit the pids limit', 100_000);
    const stats = run.handle.stats();
    console.log(`# fork bomb: ${stats.pids} processes, ${stats.pidsLimitHits} forks refused`);
    assert.ok((stats.pids ?? Infinity) <= 1024, `${stats.pids} processes`);
    run.handle.kill();
    await run.exited;
    const dirs = run.handle.cgroupDirs;
    await run.handle.destroy();
    for (const dir of dirs) assert.ok(!fs.existsSync(dir), `${dir} removed: no process left in it`);
  });

  test('CPU is proportional to memory: 177 MB gets 0.1 vCPU', { timeout: 60_000 }, async () => {
    const run = await finished(node(iso, 'spin.js', { memoryMb: 177, cpus: undefined }));
    const ratio = Number(run.values.get('ratio'));
    assert.ok(ratio < 0.3, `a busy loop got ${ratio} of a CPU under a 0.1 vCPU quota`);
    await run.handle.destroy();
  });

  test('freeze stops the timers of every process; thaw resumes them', { skip: noFreezer, timeout: 60_000 }, async () => {
    const frozen = node(iso, 'heartbeat.js');
    await frozen.line((l) => l.startsWith('beat='), 'a first heartbeat');
    await frozen.handle.freeze();
    assert.equal(frozen.handle.state, 'frozen');
    // The observation window is timed by events: a second, running sandbox's heartbeats.
    const control = node(iso, 'heartbeat.js');
    await control.line((l) => l === 'beat=5', 'the control to beat 5 times');
    const seen = frozen.lines.length;
    const cpu = frozen.handle.stats().cpuUsageUs;
    await control.line((l) => l === 'beat=40', 'the control to beat 40 times');
    assert.equal(frozen.lines.length, seen, 'no heartbeat while frozen');
    assert.equal(frozen.handle.stats().cpuUsageUs, cpu, 'no CPU time while frozen');
    frozen.handle.thaw();
    await frozen.line((_l) => frozen.lines.length > seen, 'a heartbeat after thaw');

    // The cost on the invoke path: freeze (waiting until settled) + thaw of a live Node.js process.
    const rounds: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await frozen.handle.freeze();
      frozen.handle.thaw();
      rounds.push(performance.now() - t);
    }
    rounds.sort((a, b) => a - b);
    console.log(`# freeze+thaw round trip: p50 ${rounds[100]?.toFixed(3)} ms, p99 ${rounds[198]?.toFixed(3)} ms`);
    assert.ok((rounds[100] ?? Infinity) < 5, 'freeze+thaw p50 under 5 ms');
    await Promise.all([frozen.handle.destroy(), control.handle.destroy()]);
  });

  test('/tmp on tmpfs counts against MemorySize; `tmp: disk` puts it on the host disk instead', { timeout: 60_000 }, async () => {
    const write = 'head -c 167772160 /dev/zero > /tmp/big && echo wrote=yes';
    const tmpfs = sh(iso, write, { memoryMb: 128, ephemeralStorageMb: 512 });
    await tmpfs.exited;
    assert.equal(tmpfs.handle.oomKilled(), true, '160 MB of tmpfs does not fit in 128 MB of memory');
    await tmpfs.handle.destroy();

    const scratch = path.join(tmp, 'scratch-disk');
    const disk = await finished(sh(iso, write, { memoryMb: 128, ephemeralStorageMb: 512, tmp: 'disk', scratchDir: scratch }));
    assert.equal(disk.values.get('wrote'), 'yes');
    assert.equal(disk.handle.oomKilled(), false);
    assert.equal(fs.statSync(path.join(scratch, 'big')).size, 160 * 1024 * 1024);
    assert.equal(fs.statSync(scratch).uid, process.getuid?.() === 0 ? SANDBOX_USER.uid : process.getuid?.());
    await disk.handle.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('a later start removes the cgroups, and kills the processes (frozen ones too), a crashed Kumo left behind', async () => {
    const gone = spawn('/bin/true');
    await new Promise((resolve) => gone.once('close', resolve));
    const stale = iso.cgroupParents.map((parent) => path.join(path.dirname(parent), `${gone.pid}-1`, 'env'));
    for (const dir of stale) fs.mkdirSync(dir, { recursive: true });
    const joins = stale.map((dir) => `echo $$ > ${dir}/cgroup.procs`).join(' && ');
    const orphan = spawn('/bin/sh', ['-c', `${joins} && exec sleep 1000`], { detached: true, stdio: 'ignore' });
    const orphanExit = new Promise((resolve) => orphan.once('close', (_code, signal) => resolve(signal)));
    await eventually(() => fs.readFileSync(path.join(stale[0] ?? '', 'cgroup.procs'), 'utf8').trim() !== '', 'the orphan to join');
    // A Kumo killed with SIGKILL leaves its idle environments frozen.
    const freezer = stale.map((dir) => path.join(dir, 'freezer.state')).find((f) => fs.existsSync(f));
    if (freezer) {
      fs.writeFileSync(freezer, 'FROZEN');
      await eventually(() => fs.readFileSync(freezer, 'utf8').trim() === 'FROZEN', 'the orphan to be frozen');
    }
    const later = await Isolation.create();
    try {
      assert.equal(await orphanExit, 'SIGKILL');
      for (const dir of stale) assert.ok(!fs.existsSync(path.dirname(dir)), `${path.dirname(dir)} removed`);
    } finally {
      await later.close();
    }
  });

  test('limits can be changed after creation (a pre-started sandbox given to a function)', async () => {
    const run = sh(iso, 'echo up=yes; read _', { memoryMb: 128 }, true);
    await run.line((l) => l === 'up=yes');
    const limitFile = support.cgroup === 'v1' ? 'memory.limit_in_bytes' : 'memory.max';
    const limit = () => Number(fs.readFileSync(path.join(run.handle.cgroup ?? '', limitFile), 'utf8').trim()) / (1024 * 1024);
    assert.equal(limit(), 128);
    run.handle.setMemoryLimit(1024);
    assert.equal(limit(), 1024);
    run.handle.setMemoryLimit(256);
    assert.equal(limit(), 256);
    run.handle.setCpuLimit(undefined);
    run.handle.setCpuLimit(0.5);
    run.child.stdin?.end('\n');
    await finished(run);
    await run.handle.destroy();
  });

  test('kill() ends a frozen environment, and destroy() removes its cgroups', async () => {
    const run = sh(iso, 'sleep 1000 & sleep 1000 & echo started=yes; wait');
    await run.line((l) => l === 'started=yes');
    await run.handle.freeze();
    const dirs = run.handle.cgroupDirs;
    assert.ok(dirs.length > 0 && dirs.every((d) => fs.existsSync(d)));
    await run.handle.destroy();
    await run.exited;
    assert.equal(run.handle.state, 'destroyed');
    for (const dir of dirs) assert.ok(!fs.existsSync(dir), `${dir} removed`);
  });
});

describe('cgroup v2 freezer and kill', () => {
  const mount = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.includes(' - cgroup2 '))
    ?.split(' ')[4];
  const skip =
    support.cgroup === 'v2'
      ? 'the main tests above already run on cgroup v2'
      : !mount
        ? 'no cgroup2 mount on this host'
        : process.getuid?.() !== 0 && 'needs root to write the cgroup2 mount';

  test('on the host’s controller-less v2 mount: freeze, thaw, kill, remove', { skip }, async () => {
    const found = createV2Tree(mount ?? '', []);
    if (!found.ok) {
      console.log(`# skipped: ${found.reasons.join('; ')}`);
      return;
    }
    const cg = found.tree.create(`t${process.pid}`, { memoryMb: 128, cpus: undefined, pidsMax: 64 });
    try {
      const joins = cg.procsFiles.map((f) => `echo $$ > ${f}`).join(' && ');
      const child = spawn('/bin/sh', ['-c', `${joins} && exec "$0" "$1"`, process.execPath, path.join(taskRoot, 'heartbeat.js')], {
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
      });
      let beats = 0;
      child.stdout.on('data', (c: Buffer) => (beats += c.toString().split('\n').length - 1));
      await eventually(() => beats > 0, 'a heartbeat');
      await cg.freeze();
      const frozenAt = beats;
      const cpu = cg.stats().cpuUsageUs;
      assert.ok(cpu !== undefined);
      // The observation window is timed by events: a plain (unfrozen) process's heartbeats.
      const control = spawn(process.execPath, [path.join(taskRoot, 'heartbeat.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
      let controlBeats = 0;
      control.stdout.on('data', (c: Buffer) => (controlBeats += c.toString().split('\n').length - 1));
      await eventually(() => controlBeats >= 5, 'the control to beat 5 times');
      const seen = beats;
      await eventually(() => controlBeats >= 40, 'the control to beat 40 times');
      control.kill('SIGKILL');
      assert.equal(beats, seen, 'no heartbeat while frozen');
      assert.ok(seen - frozenAt <= 1, 'at most one beat was still in flight at the freeze');
      assert.equal(cg.stats().cpuUsageUs, cpu);
      cg.thaw();
      await eventually(() => beats > frozenAt, 'a heartbeat after thaw');
      cg.kill();
      await new Promise((resolve) => child.once('close', resolve));
      await eventually(() => cg.remove(), 'the v2 cgroup to be removed');
      assert.ok(!fs.existsSync(cg.path));
    } finally {
      cg.kill();
      cg.remove();
      found.tree.close();
    }
  });
});

describe('plain-process fallback', () => {
  let iso: Isolation;
  before(async () => {
    iso = await Isolation.create({ mode: 'process' });
  });
  after(async () => {
    await iso.close();
  });

  test('runs the program as today: host paths, TMPDIR = scratch dir, rlimits', async () => {
    assert.equal(iso.support.kind, 'process');
    const run = await finished(node(iso, 'env.js'));
    const info = JSON.parse(run.lines[0] ?? '{}') as { cwd: string; env: Record<string, string>; nofile: string };
    assert.equal(info.cwd, taskRoot);
    assert.equal(info.env.LAMBDA_TASK_ROOT, taskRoot);
    assert.equal(info.env.TMPDIR, scratchDir);
    assert.match(info.nofile, /Max open files\s+1024\s+1024/);
    assert.equal(run.launch.layout.toSandbox(taskRoot), taskRoot);
    assert.equal(run.handle.oomKilled(), undefined, 'cannot tell without cgroups');
    assert.equal(run.handle.cgroup, undefined);
    await run.handle.destroy();
  });

  test('freeze is SIGSTOP of the process group; thaw resumes; kill ends it', async () => {
    const run = node(iso, 'heartbeat.js');
    await run.line((l) => l.startsWith('beat='), 'a first heartbeat');
    assert.ok(run.handle.peakMemoryMb() > 0, 'peak RSS of the process');
    await run.handle.freeze();
    const control = node(iso, 'heartbeat.js');
    await control.line((l) => l === 'beat=5');
    const seen = run.lines.length;
    await control.line((l) => l === 'beat=40');
    assert.equal(run.lines.length, seen, 'no heartbeat while stopped');
    run.handle.thaw();
    await run.line(() => run.lines.length > seen, 'a heartbeat after SIGCONT');
    await Promise.all([run.handle.destroy(), control.handle.destroy()]);
    const exit = await run.exited;
    assert.equal(exit.signal, 'SIGKILL');
  });

  test('refuses an environment id that could escape its cgroup directory', () => {
    assert.throws(() => iso.command({ ...baseSpec(), envId: '../escape' }), SandboxError);
  });
});

function baseSpec(): SandboxSpec {
  return {
    envId: 'x',
    taskRoot,
    runtimeDir,
    scratchDir,
    command: { file: '/bin/true', args: [] },
    memoryMb: 128,
    ephemeralStorageMb: 64,
    env: {},
  };
}
