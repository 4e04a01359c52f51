import crypto from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { UrlRequest } from './event.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type Verdict = { ok: true; accessKeyId: string } | { ok: false; message: string };

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** How far a request's X-Amz-Date may be from now (AWS: 5 minutes). */
const MAX_SKEW_MS = 5 * 60_000;

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * Verifies an `Authorization: AWS4-HMAC-SHA256 ...` header (Signature Version 4, service
 * `lambda`) against Kumo's credentials. The signature is recomputed with @smithy/signature-v4 —
 * the signer the AWS SDKs use — over the request exactly as it arrived: its method, raw path,
 * query, the headers the client says it signed, and the body (whose hash must match
 * `x-amz-content-sha256` when the client sent one). `x-amz-date` is required and may be at most
 * 5 minutes off. Presigned (query-string) requests are not accepted.
 */
export async function verifySigV4(
  req: UrlRequest,
  headers: Record<string, string>,
  expected: { credentials: Credentials; region: string; now: number },
): Promise<Verdict> {
  const auth = headers.authorization;
  if (auth === undefined) return { ok: false, message: 'Forbidden' };
  const m = AUTH_RE.exec(auth.trim());
  if (!m) return { ok: false, message: 'Forbidden' };
  const [, accessKeyId = '', scopeDate = '', region = '', service = '', signedList = '', signature = ''] = m;
  if (accessKeyId !== expected.credentials.accessKeyId) {
    return { ok: false, message: 'The security token included in the request is invalid.' };
  }
  if (region !== expected.region) return { ok: false, message: `Credential should be scoped to a valid region. ` };
  if (service !== 'lambda') return { ok: false, message: "Credential should be scoped to correct service: 'lambda'. " };
  const amzDate = headers['x-amz-date'];
  const d = amzDate === undefined ? null : AMZ_DATE_RE.exec(amzDate);
  if (!d || amzDate === undefined) return { ok: false, message: 'Forbidden' };
  const signingDate = new Date(Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(d[4]), Number(d[5]), Number(d[6])));
  if (amzDate.slice(0, 8) !== scopeDate) return { ok: false, message: MISMATCH };
  if (Math.abs(expected.now - signingDate.getTime()) > MAX_SKEW_MS) {
    return { ok: false, message: `Signature expired: ${amzDate} is now earlier than ${compact(expected.now - MAX_SKEW_MS)} (${compact(expected.now)} - 5 min.)` };
  }
  const signed = signedList.split(';');
  if (!signed.includes('host')) return { ok: false, message: MISMATCH };
  const contentHash = headers['x-amz-content-sha256'];
  // "Lambda doesn't support unsigned payloads" (CloudFront's guide to function URL origins): a
  // signature that does not cover the body could be replayed with another body.
  if (contentHash === 'UNSIGNED-PAYLOAD' && req.body.length > 0) return { ok: false, message: MISMATCH };
  if (contentHash !== undefined && contentHash !== 'UNSIGNED-PAYLOAD') {
    if (contentHash !== crypto.createHash('sha256').update(req.body).digest('hex')) {
      return { ok: false, message: 'The provided \'x-amz-content-sha256\' header does not match what was computed.' };
    }
  }
  const signedHeaders: Record<string, string> = {};
  for (const name of signed) {
    const value = headers[name];
    if (value === undefined) return { ok: false, message: MISMATCH };
    signedHeaders[name] = value;
  }
  const signer = new SignatureV4({
    credentials: expected.credentials,
    region: expected.region,
    service: 'lambda',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const recomputed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: signedHeaders.host ?? '',
      path: req.rawPath,
      query: parseQuery(req.rawQuery),
      headers: signedHeaders,
      body: req.body.length > 0 ? req.body : undefined,
    },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const computed = /Signature=([0-9a-f]{64})$/.exec(recomputed.headers.authorization ?? '')?.[1] ?? '';
  const same = computed.length === signature.length && crypto.timingSafeEqual(Buffer.from(computed), Buffer.from(signature));
  return same ? { ok: true, accessKeyId } : { ok: false, message: MISMATCH };
}

/** The query as the signer takes it: decoded keys and values, repeated keys as lists. */
function parseQuery(rawQuery: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    const prior = out[key];
    out[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function compact(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
