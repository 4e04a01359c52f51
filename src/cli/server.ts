import type { Command } from 'commander';
import { optionsFromEnv, type KumoOptions } from '../config/index.js';
// The server (SQLite, engine, pino) is imported inside the action, so client commands start fast.

/** `kumo server`: runs Kumo in the foreground until SIGINT/SIGTERM. */
export function registerServer(program: Command): void {
  program
    .command('server')
    .description('start the Kumo server (embedded SQLite store, local data directory)')
    .option('-p, --port <port>', 'TCP port (env KUMO_PORT)', parsePort)
    .option('--host <host>', 'address to bind (env KUMO_HOST)')
    .option('-d, --data-dir <dir>', 'data directory (env KUMO_DATA_DIR)')
    .option('--region <region>', 'region in ARNs (env KUMO_REGION)')
    .option('--account-id <id>', 'account id in ARNs (env KUMO_ACCOUNT_ID)')
    .action(async (flags: { port?: number; host?: string; dataDir?: string; region?: string; accountId?: string }) => {
      const options: KumoOptions = { ...optionsFromEnv(), ...definedOnly(flags) };
      const { Kumo } = await import('../server/index.js');
      const kumo = await Kumo.start(options);
      const url = kumo.url;
      process.stdout.write(
        [
          `Kumo is running at ${url}`,
          `  region ${kumo.options.region}, account ${kumo.options.accountId}, data in ${kumo.options.dataDir}`,
          '',
          'Point the AWS CLI at it:',
          `  aws lambda list-functions --endpoint-url ${url} --region ${kumo.options.region}`,
          '  (any credentials work, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)',
          'Or an AWS SDK:',
          `  new LambdaClient({ endpoint: '${url}', region: '${kumo.options.region}' })`,
          `  boto3.client('lambda', endpoint_url='${url}', region_name='${kumo.options.region}')`,
          'Or set AWS_ENDPOINT_URL for every client:',
          `  export AWS_ENDPOINT_URL=${url}`,
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write('Stopping Kumo...\n');
      await kumo.close();
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port: ${value}`);
  return n;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
