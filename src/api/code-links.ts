import crypto from 'node:crypto';

/**
 * Time-limited download links for code archives, like the presigned S3 URLs Lambda returns in
 * GetFunction's `Code.Location`: an HMAC of the archive hash and expiry under a server secret.
 */
export class CodeLinks {
  constructor(
    private readonly secret: Buffer,
    private readonly ttlMs = 10 * 60 * 1000,
  ) {}

  url(origin: string, sha256Hex: string, now = Date.now()): string {
    const expires = Math.floor((now + this.ttlMs) / 1000);
    return `${origin}/_kumo/code/${sha256Hex}.zip?Expires=${expires}&Signature=${this.sign(sha256Hex, expires)}`;
  }

  verify(sha256Hex: string, expires: string | null, signature: string | null, now = Date.now()): boolean {
    if (!expires || !signature || !/^\d+$/.test(expires)) return false;
    if (Number(expires) * 1000 < now) return false;
    const expected = Buffer.from(this.sign(sha256Hex, Number(expires)));
    const given = Buffer.from(signature);
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }

  private sign(sha: string, expires: number): string {
    return crypto.createHmac('sha256', this.secret).update(`${sha}\n${expires}`).digest('base64url');
  }
}
