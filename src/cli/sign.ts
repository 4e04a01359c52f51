import fs from 'node:fs';
import type { Command } from 'commander';
import { signZip, type SignatureDocument, type SigningProfileView } from '../signing/index.js';
import { clientOf } from './client.js';
import { out, table } from './output.js';

/**
 * `kumo sign <zip> --profile <name> [--out file]`: signs a deployment package with one of Kumo's
 * signing profiles. The manifest digest is computed here; the server signs it with the profile's
 * private key (which never leaves it) and the signature is written into the zip at
 * `.kumo-signature.json`. `kumo signing-profile create|ls|show|revoke` manage the profiles.
 */
export function registerSign(program: Command): void {
  program
    .command('sign')
    .description('sign a function zip with a Kumo signing profile (for code signing configurations)')
    .argument('<zip>', 'the .zip deployment package')
    .requiredOption('--profile <name>', 'signing profile name')
    .option('--out <file>', 'where to write the signed zip (default: replace <zip>)')
    .action(async (file: string, flags: { profile: string; out?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const signed = await signZip(fs.readFileSync(file), (digest) =>
        client.json<SignatureDocument>('POST', `/_kumo/signing-profiles/${encodeURIComponent(flags.profile)}/sign`, { json: { digest } }),
      );
      const target = flags.out ?? file;
      fs.writeFileSync(`${target}.tmp`, signed);
      fs.renameSync(`${target}.tmp`, target);
      out(`Signed ${target} with ${flags.profile}`);
    });

  const profiles = program.command('signing-profile').description("manage Kumo's signing profiles (Ed25519 keys kept by the server)");
  profiles
    .command('create')
    .argument('<name>', 'profile name (2-64 letters, digits, _)')
    .action(async (name: string, _flags: object, cmd: Command) => {
      const p = await clientOf(cmd).json<SigningProfileView>('POST', '/_kumo/signing-profiles', { json: { profileName: name } });
      out(p.profileVersionArn);
    });
  profiles.command('ls').action(async (_flags: object, cmd: Command) => {
    const { profiles: list } = await clientOf(cmd).json<{ profiles: SigningProfileView[] }>('GET', '/_kumo/signing-profiles');
    out(
      table(
        ['NAME', 'STATUS', 'VERSION ARN'],
        list.map((p) => [p.profileName, p.status, p.profileVersionArn]),
      ),
    );
  });
  profiles
    .command('show')
    .argument('<name>')
    .action(async (name: string, _flags: object, cmd: Command) => {
      out(JSON.stringify(await clientOf(cmd).json('GET', `/_kumo/signing-profiles/${encodeURIComponent(name)}`), null, 2));
    });
  profiles
    .command('revoke')
    .argument('<name>')
    .action(async (name: string, _flags: object, cmd: Command) => {
      const p = await clientOf(cmd).json<SigningProfileView>('POST', `/_kumo/signing-profiles/${encodeURIComponent(name)}/revoke`);
      out(`${p.profileName}: ${p.status}`);
    });
}
