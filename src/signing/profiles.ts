import crypto from 'node:crypto';
import { KumoError, validationError } from '../errors/index.js';
import type { SigningProfileRecord, SigningRepo } from '../store/index.js';
import { SIGNATURE_FORMAT, signedPayload, type SignatureDocument } from './signature.js';

export interface Partition {
  region: string;
  accountId: string;
}

/** A signing profile as Kumo's API shows it (never the private key). */
export interface SigningProfileView {
  profileName: string;
  profileVersion: string;
  profileArn: string;
  profileVersionArn: string;
  status: 'Active' | 'Revoked';
  platformId: 'Kumo-Ed25519';
  publicKey: string;
  createdAt: string;
  revokedAt?: string;
}

const NAME_RE = /^[a-zA-Z0-9_]{2,64}$/;

/**
 * Kumo-managed signing profiles: Kumo's stand-in for AWS Signer. Each profile has an Ed25519 key
 * pair made with node:crypto; the private key stays in the server's database and signs manifest
 * digests on request (`kumo sign` asks), the public key verifies deployments. A revoked profile's
 * signatures still verify but are no longer trusted.
 */
export class SigningProfiles {
  constructor(
    private readonly repo: SigningRepo,
    private readonly partition: Partition,
  ) {}

  profileArn(name: string): string {
    return `arn:aws:signer:${this.partition.region}:${this.partition.accountId}:/signing-profiles/${name}`;
  }

  versionArn(p: Pick<SigningProfileRecord, 'name' | 'version'>): string {
    return `${this.profileArn(p.name)}/${p.version}`;
  }

  async create(name: string): Promise<SigningProfileView> {
    if (!NAME_RE.test(name))
      throw validationError('profileName', name, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]{2,64}$');
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const record: SigningProfileRecord = {
      name,
      version: crypto.randomBytes(8).toString('base64url').replace(/[-_]/g, '').slice(0, 10).padEnd(10, '0'),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      status: 'Active',
      createdAt: Date.now(),
      revokedAt: null,
    };
    if (!(await this.repo.createProfile(record))) {
      throw new KumoError('ResourceConflictException', `A signing profile named ${name} already exists.`);
    }
    return this.view(record);
  }

  async get(name: string): Promise<SigningProfileView> {
    return this.view(await this.record(name));
  }

  async list(): Promise<SigningProfileView[]> {
    return (await this.repo.profiles()).map((p) => this.view(p));
  }

  async revoke(name: string): Promise<SigningProfileView> {
    const record = await this.record(name);
    if (record.status !== 'Revoked') await this.repo.revokeProfile(name, Date.now());
    return this.view(await this.record(name));
  }

  /** Signs a manifest digest with an active profile (what `kumo sign` asks the server for). */
  async sign(name: string, digest: string): Promise<SignatureDocument> {
    const record = await this.record(name);
    if (record.status === 'Revoked') throw new KumoError('InvalidParameterValueException', `The signing profile ${name} is revoked.`);
    if (!/^[0-9a-f]{64}$/.test(digest)) throw validationError('digest', digest, 'Member must be a sha256 digest in hex');
    const fields = { profileVersionArn: this.versionArn(record), signedAt: new Date().toISOString(), digest };
    const signature = crypto.sign(null, signedPayload(fields), record.privateKeyPem).toString('base64');
    return { format: SIGNATURE_FORMAT, ...fields, signature };
  }

  /** The profile a version ARN names, if Kumo has it (any version of a name other than its own is unknown). */
  async byVersionArn(arn: string): Promise<SigningProfileRecord | undefined> {
    const m = /^arn:aws[a-zA-Z-]*:signer:[^:]*:\d{12}:\/signing-profiles\/([a-zA-Z0-9_]{2,64})\/([a-zA-Z0-9]+)$/.exec(arn);
    if (!m?.[1]) return undefined;
    const record = await this.repo.profile(m[1]);
    return record && this.versionArn(record) === arn ? record : undefined;
  }

  private async record(name: string): Promise<SigningProfileRecord> {
    const record = await this.repo.profile(name);
    if (!record) throw new KumoError('ResourceNotFoundException', `Signing profile ${name} does not exist.`);
    return record;
  }

  private view(p: SigningProfileRecord): SigningProfileView {
    return {
      profileName: p.name,
      profileVersion: p.version,
      profileArn: this.profileArn(p.name),
      profileVersionArn: this.versionArn(p),
      status: p.status,
      platformId: 'Kumo-Ed25519',
      publicKey: p.publicKeyPem,
      createdAt: new Date(p.createdAt).toISOString(),
      ...(p.revokedAt === null ? {} : { revokedAt: new Date(p.revokedAt).toISOString() }),
    };
  }
}
