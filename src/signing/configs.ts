import crypto from 'node:crypto';
import { digestZip } from '../code/index.js';
import { KumoError, invalidParameter, validationError } from '../errors/index.js';
import { checkTags, pageOf, pageSize, readMarker, type CodeSignature, type FunctionService } from '../functions/index.js';
import type { CodeSigningConfigRecord, SigningRepo, TagRepo } from '../store/index.js';
import type { SigningProfiles } from './profiles.js';
import { SIGNATURE_PATH, manifestDigest, parseSignature, signedPayload } from './signature.js';

/** CreateCodeSigningConfig / UpdateCodeSigningConfig parameters, shape-checked at the edge. */
export interface CodeSigningConfigInput {
  Description?: string | undefined;
  AllowedPublishers?: { SigningProfileVersionArns: string[] } | undefined;
  CodeSigningPolicies?: { UntrustedArtifactOnDeployment?: string | undefined } | undefined;
  /** CreateCodeSigningConfig only. */
  Tags?: Record<string, string> | undefined;
}

export type Logger = (fields: Record<string, unknown>, message: string) => void;

const CSC_ARN_PATTERN =
  'arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:\\d{12}:code-signing-config:csc-[a-z0-9]{17}';
const CSC_ARN_RE = new RegExp(`^${CSC_ARN_PATTERN}$`);
const PROFILE_VERSION_ARN_RE = /^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$/;

/** Lambda's wording when Enforce blocks a deployment (a mismatch, expiry or revocation check failed). */
const VERIFICATION_FAILED =
  'Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for';
/** Lambda's wording when the integrity check fails (blocked under Warn as well). */
const INTEGRITY_FAILED =
  'The code signature failed the integrity check. Lambda always blocks deployment if the integrity check fails, even if code signing policy is set to WARN.';

/**
 * Code signing configurations (Create/Get/Update/Delete/List), which function uses which
 * (Put/Get/DeleteFunctionCodeSigningConfig), and the check of every deployment to a function that
 * has one: the zip's signature (see signature.ts) must verify against the signing profile it names
 * (integrity: else InvalidCodeSignatureException, whatever the policy), and the profile must be
 * known, not revoked and among the configuration's allowed publishers (else a warning under
 * `Warn`, CodeVerificationFailedException under `Enforce`). An unsigned zip is untrusted too.
 */
export class CodeSigning {
  constructor(
    private readonly deps: { repo: SigningRepo; tags: TagRepo; profiles: SigningProfiles; functions: FunctionService; warn: Logger },
  ) {}

  arn(id: string): string {
    const p = this.deps.functions.partition;
    return `arn:aws:lambda:${p.region}:${p.accountId}:code-signing-config:${id}`;
  }

  view(c: CodeSigningConfigRecord): Record<string, unknown> {
    return {
      CodeSigningConfigId: c.id,
      CodeSigningConfigArn: this.arn(c.id),
      Description: c.description,
      AllowedPublishers: { SigningProfileVersionArns: [...c.allowedPublishers] },
      CodeSigningPolicies: { UntrustedArtifactOnDeployment: c.untrustedArtifactOnDeployment },
      LastModified: new Date(c.lastModified).toISOString().replace('Z', '+0000'),
    };
  }

  async create(input: CodeSigningConfigInput): Promise<CodeSigningConfigRecord> {
    if (!input.AllowedPublishers) {
      throw validationError('allowedPublishers', null, 'Member must not be null');
    }
    const record: CodeSigningConfigRecord = {
      id: `csc-${crypto.randomBytes(9).toString('hex').slice(0, 17)}`,
      description: checkDescription(input.Description ?? ''),
      allowedPublishers: checkPublishers(input.AllowedPublishers.SigningProfileVersionArns),
      untrustedArtifactOnDeployment: checkPolicy(input.CodeSigningPolicies?.UntrustedArtifactOnDeployment ?? 'Warn'),
      lastModified: Date.now(),
    };
    const tags = input.Tags === undefined ? undefined : checkTags(input.Tags, {});
    await this.deps.repo.putConfig(record);
    if (tags) await this.deps.tags.set(tagKey(record.id), tags);
    return record;
  }

  /** Where the tags of the configuration `arn` are kept (TagResource and friends); not found if it does not exist. */
  async tagKey(arn: string): Promise<string> {
    return tagKey((await this.get(arn)).id);
  }

  /** ListFunctionsByCodeSigningConfig: the ARNs of the functions that use it. */
  async functionsUsing(arn: string): Promise<string[]> {
    const record = await this.get(arn);
    return (await this.deps.repo.functionsUsing(record.id)).map((n) => this.deps.functions.arn(n));
  }

  async get(arn: string): Promise<CodeSigningConfigRecord> {
    const id = this.idOf(arn);
    const record = await this.deps.repo.config(id);
    if (!record) throw new KumoError('ResourceNotFoundException', `The Lambda code signing configuration ${arn} can not be found.`);
    return record;
  }

  async update(arn: string, input: CodeSigningConfigInput): Promise<CodeSigningConfigRecord> {
    const current = await this.get(arn);
    const record: CodeSigningConfigRecord = {
      ...current,
      ...(input.Description === undefined ? {} : { description: checkDescription(input.Description) }),
      ...(input.AllowedPublishers === undefined
        ? {}
        : { allowedPublishers: checkPublishers(input.AllowedPublishers.SigningProfileVersionArns) }),
      ...(input.CodeSigningPolicies?.UntrustedArtifactOnDeployment === undefined
        ? {}
        : { untrustedArtifactOnDeployment: checkPolicy(input.CodeSigningPolicies.UntrustedArtifactOnDeployment) }),
      lastModified: Date.now(),
    };
    await this.deps.repo.putConfig(record);
    return record;
  }

  async delete(arn: string): Promise<void> {
    const record = await this.get(arn);
    if (!(await this.deps.repo.deleteConfig(record.id))) {
      const users = await this.deps.repo.functionsUsing(record.id);
      throw new KumoError(
        'ResourceConflictException',
        `The code signing configuration ${arn} cannot be deleted because it is used by the following functions: ${users.map((n) => this.deps.functions.arn(n)).join(', ')}`,
      );
    }
  }

  async list(
    marker: string | undefined,
    maxItems: number | undefined,
  ): Promise<{ configs: CodeSigningConfigRecord[]; nextMarker?: string }> {
    const limit = pageSize(maxItems);
    const { page, nextMarker } = pageOf(await this.deps.repo.configs(readMarker(marker, /^csc-[a-z0-9]{17}$/), limit + 1), limit, (c) => c.id);
    return nextMarker === undefined ? { configs: page } : { configs: page, nextMarker };
  }

  /** PutFunctionCodeSigningConfig. */
  async attach(functionName: string, arn: string): Promise<{ CodeSigningConfigArn: string; FunctionName: string }> {
    const ref = this.deps.functions.ref(functionName);
    const id = await this.existing(arn);
    const fn = await this.deps.functions.get(ref.name);
    await this.deps.repo.setFunctionConfig(fn.name, id);
    return { CodeSigningConfigArn: arn, FunctionName: fn.name };
  }

  /** GetFunctionCodeSigningConfig: `{}` when the function has none. */
  async ofFunction(functionName: string): Promise<{ CodeSigningConfigArn: string; FunctionName: string } | Record<string, never>> {
    const fn = await this.deps.functions.get(this.deps.functions.ref(functionName).name);
    const id = await this.deps.repo.functionConfig(fn.name);
    return id === undefined ? {} : { CodeSigningConfigArn: this.arn(id), FunctionName: fn.name };
  }

  async detach(functionName: string): Promise<void> {
    const fn = await this.deps.functions.get(this.deps.functions.ref(functionName).name);
    await this.deps.repo.setFunctionConfig(fn.name, undefined);
  }

  /**
   * The check of a deployment (CreateFunction, UpdateFunctionCode): against `configArn` when
   * given (CreateFunction's CodeSigningConfigArn), else the function's own configuration, if any.
   */
  async verify(functionName: string, zip: Buffer, configArn?: string): Promise<CodeSignature | undefined> {
    const id = configArn !== undefined ? await this.existing(configArn) : await this.deps.repo.functionConfig(functionName);
    if (id === undefined) return undefined;
    const config = await this.deps.repo.config(id);
    if (!config) return undefined;
    const target = this.deps.functions.arn(functionName);
    /** Refuses under Enforce; under Warn logs and lets the code deploy (as unsigned: undefined). */
    const untrusted = (reason: string): undefined => {
      if (config.untrustedArtifactOnDeployment === 'Enforce') {
        throw new KumoError('CodeVerificationFailedException', `${VERIFICATION_FAILED} ${target}. (${reason})`);
      }
      this.deps.warn(
        { function: functionName, codeSigningConfig: this.arn(id), reason },
        `code signing: deploying untrusted code (${reason})`,
      );
      return undefined;
    };
    const { entries, kept } = await digestZip(zip, (name) => name === SIGNATURE_PATH);
    const raw = kept.get(SIGNATURE_PATH);
    if (raw === undefined) return untrusted(`the code package is not signed: it has no ${SIGNATURE_PATH}`);
    const doc = parseSignature(raw);
    if (!doc) throw new KumoError('InvalidCodeSignatureException', `${INTEGRITY_FAILED} (${SIGNATURE_PATH} is not a Kumo signature)`);
    const profile = await this.deps.profiles.byVersionArn(doc.profileVersionArn);
    if (!profile) return untrusted(`signed by an unknown signing profile version: ${doc.profileVersionArn}`);
    let valid: boolean;
    try {
      valid = crypto.verify(null, signedPayload(doc), profile.publicKeyPem, Buffer.from(doc.signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid || doc.digest !== manifestDigest(entries)) {
      throw new KumoError('InvalidCodeSignatureException', `${INTEGRITY_FAILED} (the code package was modified after it was signed)`);
    }
    if (profile.status === 'Revoked') untrusted(`the signing profile ${doc.profileVersionArn} is revoked`);
    else if (!config.allowedPublishers.includes(doc.profileVersionArn)) {
      untrusted(`the signing profile ${doc.profileVersionArn} is not an allowed publisher of ${this.arn(id)}`);
    }
    // Signed, and the signature holds (the code deploys, trusted or under Warn): Lambda names the signer.
    return { profileVersionArn: doc.profileVersionArn, jobArn: signingJobArn(doc.profileVersionArn, doc.signature) };
  }

  /** Records the configuration given to CreateFunction (after the function exists). */
  async attachOnCreate(functionName: string, configArn: string): Promise<void> {
    await this.deps.repo.setFunctionConfig(functionName, this.idOf(configArn));
  }

  private idOf(arn: string): string {
    if (!CSC_ARN_RE.test(arn)) {
      throw validationError('codeSigningConfigArn', arn, `Member must satisfy regular expression pattern: ${CSC_ARN_PATTERN}`);
    }
    const id = arn.slice(arn.lastIndexOf(':') + 1);
    return arn === this.arn(id) ? id : ''; // another region's or account's: one Kumo does not have
  }

  /** The id of a configuration that exists (Lambda's CodeSigningConfigNotFoundException otherwise). */
  private async existing(arn: string): Promise<string> {
    const id = this.idOf(arn);
    if (!(await this.deps.repo.config(id))) {
      throw new KumoError(
        'CodeSigningConfigNotFoundException',
        `The code signing configuration cannot be found. Check that the provided configuration is not deleted: ${arn}.`,
      );
    }
    return id;
  }
}

/**
 * The signing job that made a signature, in AWS Signer's ARN form
 * (`arn:aws:signer:<region>:<account>:/signing-jobs/<job id>`). Kumo signs without jobs, so the id
 * is derived from the signature: the same signed zip always names the same job.
 */
function signingJobArn(profileVersionArn: string, signature: string): string {
  const prefix = profileVersionArn.slice(0, Math.max(0, profileVersionArn.indexOf(':/signing-profiles/')));
  const h = crypto.createHash('sha256').update(signature).digest('hex');
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `${prefix}:/signing-jobs/${id}`;
}

function tagKey(id: string): string {
  return `code-signing-config:${id}`;
}

function checkDescription(d: string): string {
  if (d.length > 256) throw validationError('description', d, 'Member must have length less than or equal to 256');
  return d;
}

function checkPublishers(arns: string[]): string[] {
  if (arns.length < 1 || arns.length > 20) {
    throw validationError(
      'allowedPublishers.signingProfileVersionArns',
      `[${arns.join(', ')}]`,
      `Member must have length ${arns.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 20'}`,
    );
  }
  for (const arn of arns) {
    if (!PROFILE_VERSION_ARN_RE.test(arn)) {
      throw invalidParameter(`Signing profile version ARN ${arn} is not valid.`);
    }
  }
  return [...arns];
}

function checkPolicy(p: string): 'Warn' | 'Enforce' {
  if (p !== 'Warn' && p !== 'Enforce') {
    throw validationError('codeSigningPolicies.untrustedArtifactOnDeployment', p, 'Member must satisfy enum value set: [Enforce, Warn]');
  }
  return p;
}
