import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the in-environment runtime code (runtime/ at the repository root). */
export const RUNTIME_ROOT = fileURLToPath(new URL('../../../runtime/', import.meta.url));

export type RuntimeFamily = 'nodejs' | 'python' | 'provided';

export interface RuntimeSpec {
  id: string;
  family: RuntimeFamily;
  /** Value of AWS_EXECUTION_ENV (custom runtimes have none). */
  executionEnv: string | undefined;
}

/** The runtimes Kumo can run. Keys are Lambda's runtime identifiers. */
export const RUNTIMES: ReadonlyMap<string, RuntimeSpec> = new Map(
  (
    [
      ['nodejs20.x', 'nodejs', 'AWS_Lambda_nodejs20.x'],
      ['nodejs22.x', 'nodejs', 'AWS_Lambda_nodejs22.x'],
      ['python3.11', 'python', 'AWS_Lambda_python3.11'],
      ['python3.12', 'python', 'AWS_Lambda_python3.12'],
      ['provided.al2023', 'provided', undefined],
      ['provided.al2', 'provided', undefined],
      ['provided', 'provided', undefined],
    ] as const
  ).map(([id, family, executionEnv]) => [id, { id, family, executionEnv }]),
);

export interface LaunchCommand {
  file: string;
  args: string[];
}

const pythonCache = new Map<string, string>();

/**
 * The Python interpreter for a runtime: Debian's /usr/bin/python3.X when the host has that exact
 * version, else the host's /usr/bin/python3, else `python3` on PATH. Kumo does not ship Python.
 */
export function pythonFor(runtimeId: string): string {
  const cached = pythonCache.get(runtimeId);
  if (cached) return cached;
  const exact = `/usr/bin/${runtimeId}`;
  const found = [exact, '/usr/bin/python3'].find((p) => isExecutable(p)) ?? 'python3';
  pythonCache.set(runtimeId, found);
  return found;
}

/**
 * Where a custom runtime's bootstrap is: the function's own (`/var/task/bootstrap`), else a layer's
 * (`/opt/bootstrap`), as on Lambda. Undefined when neither is an executable file.
 */
export function customBootstrap(taskRoot: string, optDir: string): string | undefined {
  return [path.join(taskRoot, 'bootstrap'), path.join(optDir, 'bootstrap')].find(isExecutableFile);
}

/** How to start the runtime process for a function whose code is unpacked at `taskRoot` (its layers at `optDir`). */
export function launchCommand(spec: RuntimeSpec, taskRoot: string, memorySizeMb: number, optDir?: string): LaunchCommand {
  switch (spec.family) {
    case 'nodejs': {
      // The flags Lambda's Node.js launcher passes: heap sized from the function's memory.
      const newSpace = Math.floor(memorySizeMb / 10);
      const flags = [
        '--expose-gc',
        '--max-http-header-size=81920',
        `--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`,
        `--max-old-space-size=${memorySizeMb - newSpace}`,
      ];
      return { file: process.execPath, args: [...flags, path.join(RUNTIME_ROOT, 'nodejs', 'bootstrap.mjs')] };
    }
    case 'python':
      return { file: pythonFor(spec.id), args: ['-u', path.join(RUNTIME_ROOT, 'python', 'bootstrap.py')] };
    case 'provided': {
      const bootstrap = (optDir === undefined ? undefined : customBootstrap(taskRoot, optDir)) ?? path.join(taskRoot, 'bootstrap');
      // Lambda runs on Amazon Linux, where /bin/sh is bash; AWS's own tutorial bootstrap relies on it
      // (`source`, `set -o pipefail`). On hosts where /bin/sh is another shell, run such scripts with bash.
      if (startsWithShebang(bootstrap, '#!/bin/sh') && isExecutable('/bin/bash')) {
        return { file: '/bin/bash', args: [bootstrap] };
      }
      return { file: bootstrap, args: [] };
    }
  }
}

/** LAMBDA_RUNTIME_DIR: where the runtime's own code lives. */
export function runtimeDir(spec: RuntimeSpec): string {
  return spec.family === 'provided' ? RUNTIME_ROOT : path.join(RUNTIME_ROOT, spec.family);
}

function startsWithShebang(file: string, shebang: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(shebang.length + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('latin1');
    return head.startsWith(shebang) && (head.length === shebang.length || /\s/.test(head.charAt(shebang.length)));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isExecutableFile(p: string): boolean {
  return isExecutable(p) && fs.statSync(p).isFile();
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
