/**
 * The floor under Kumo's warm invoke on this host: the same three processes (client, a relay that
 * stands for Kumo, an echo server that stands for the runtime), plain `node:http` with keep-alive,
 * sequential requests. Whatever this measures, no invoke through Kumo can beat; what Kumo adds is
 * the difference. Prints the figures and writes bench/results/baseline.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { summary, timed } from './http.js';
import { ROOT } from './server.js';

const SAMPLES = process.argv.includes('--quick') ? 1000 : 5000;

const ECHO = `require('http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{"ok":1}')); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

const relay = (target: number): string => `const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
http.createServer((q, s) => {
  const body = [];
  q.on('data', (d) => body.push(d));
  q.on('end', () => {
    const payload = Buffer.concat(body);
    const r = http.request({ host: '127.0.0.1', port: ${target}, method: 'POST', path: '/', agent, headers: { 'content-length': payload.length } }, (x) => {
      const out = [];
      x.on('data', (d) => out.push(d));
      x.on('end', () => s.end(Buffer.concat(out)));
    });
    r.end(payload);
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;

function start(code: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
    child.once('exit', (c) => reject(new Error(`baseline process exited with ${c}`)));
  });
}

async function main(): Promise<void> {
  const echo = await start(ECHO);
  const hop = await start(relay(echo.port));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const body = Buffer.from('{"name":"bench"}');
  const request = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const r = http.request(
        { host: '127.0.0.1', port: hop.port, method: 'POST', path: '/', agent, headers: { 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  try {
    for (let i = 0; i < 500; i++) await request();
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(await timed(request));
    const result = summary(samples);
    const report = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
      samples: SAMPLES,
      result,
    };
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/baseline.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(
      `\nfloor (client → relay → echo, plain node:http, ${SAMPLES} sequential requests): p50 ${result.p50.toFixed(3)} ms, p99 ${result.p99.toFixed(3)} ms\nwrote bench/results/baseline.json\n`,
    );
  } finally {
    agent.destroy();
    echo.child.kill();
    hop.child.kill();
  }
}

await main();
