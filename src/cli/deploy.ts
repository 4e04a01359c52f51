import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { ApiError, clientOf, functionPath, type KumoClient } from './client.js';
import { formatBytes, out, UsageError } from './output.js';

interface DeployFlags {
  name: string;
  runtime?: string;
  handler?: string;
  memory?: number;
  timeout?: number;
  env?: Record<string, string>;
  description?: string;
  layer?: string[];
}

interface FunctionConfiguration {
  FunctionName: string;
  FunctionArn: string;
  CodeSha256: string;
  CodeSize: number;
}

/**
 * `kumo deploy <dir|zip>`: creates the function, or when it exists updates its code and then the
 * configuration flags that were given (flags left out stay as they are).
 */
export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('create or update a function from a directory (zipped for you) or a .zip file')
    .argument('<path>', 'directory with the function code, or a .zip deployment package')
    .requiredOption('-n, --name <function>', 'function name')
    .option('-r, --runtime <runtime>', 'runtime, e.g. nodejs20.x, python3.12, provided.al2023 (required to create)')
    .option('-H, --handler <handler>', 'handler, e.g. index.handler (required to create)')
    .option('-m, --memory <MB>', 'memory size in MB', positiveInt)
    .option('-t, --timeout <seconds>', 'timeout in seconds', positiveInt)
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable; replaces all variables on update)', collectEnv)
    .option('-d, --description <text>', 'description')
    .option('-l, --layer <arn>', 'layer version ARN, in order (repeatable; replaces all layers on update)', collectLayer)
    .action(async (source: string, flags: DeployFlags, cmd: Command) => {
      const client = clientOf(cmd);
      const zip = await readPackage(source);
      const result = await deploy(client, zip, flags);
      out(`${result.created ? 'Created' : 'Updated'} ${result.config.FunctionName}`);
      out(`  ARN         ${result.config.FunctionArn}`);
      out(`  CodeSha256  ${result.config.CodeSha256}`);
      out(`  CodeSize    ${result.config.CodeSize} bytes (${formatBytes(result.config.CodeSize)})`);
    });
}

async function deploy(client: KumoClient, zip: Buffer, flags: DeployFlags): Promise<{ created: boolean; config: FunctionConfiguration }> {
  const settings = configurationOf(flags);
  try {
    if (flags.runtime === undefined || flags.handler === undefined) {
      // Cannot create without them; an existing function is updated below.
      await client.json('GET', functionPath(flags.name, '/configuration'));
    } else {
      const config = await client.json<FunctionConfiguration>('POST', '/2015-03-31/functions', {
        json: { FunctionName: flags.name, Code: { ZipFile: zip.toString('base64') }, ...settings },
      });
      return { created: true, config };
    }
  } catch (err) {
    if (err instanceof ApiError && err.type === 'ResourceNotFoundException') {
      throw new UsageError(`function ${flags.name} does not exist; --runtime and --handler are required to create it`);
    }
    if (!(err instanceof ApiError && err.type === 'ResourceConflictException')) throw err;
  }
  let config = await client.json<FunctionConfiguration>('PUT', functionPath(flags.name, '/code'), {
    json: { ZipFile: zip.toString('base64') },
  });
  if (Object.keys(settings).length > 0) {
    config = await client.json<FunctionConfiguration>('PUT', functionPath(flags.name, '/configuration'), { json: settings });
  }
  return { created: false, config };
}

/** The Lambda configuration members the flags set (only those given). */
function configurationOf(flags: DeployFlags): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (flags.runtime !== undefined) c.Runtime = flags.runtime;
  if (flags.handler !== undefined) c.Handler = flags.handler;
  if (flags.memory !== undefined) c.MemorySize = flags.memory;
  if (flags.timeout !== undefined) c.Timeout = flags.timeout;
  if (flags.description !== undefined) c.Description = flags.description;
  if (flags.env !== undefined) c.Environment = { Variables: flags.env };
  if (flags.layer !== undefined) c.Layers = flags.layer;
  return c;
}

/** A directory is zipped (leaving out `.git`); a file is sent as is, and must be a zip. */
async function readPackage(source: string): Promise<Buffer> {
  const stats = await stat(source).catch((e: unknown) => {
    throw new UsageError(`cannot read ${source}: ${e instanceof Error ? e.message : String(e)}`);
  });
  if (stats.isDirectory()) {
    const { zipDirectory } = await import('../code/index.js'); // only deploy needs the zip code
    return zipDirectory(source, { ignore: (rel) => path.posix.basename(rel) === '.git' });
  }
  const data = await readFile(source);
  if (data.length < 4 || data.readUInt32LE(0) !== 0x04034b50) throw new UsageError(`${source} is not a directory or a .zip file`);
  return data;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
}

function collectLayer(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectEnv(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected KEY=VALUE.');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
