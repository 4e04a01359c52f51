/**
 * The `signing` subsystem: code signing as Lambda does it, with Kumo-managed signing profiles
 * (real Ed25519 keys) standing in for AWS Signer. See docs/code-signing.md.
 */
export { CodeSigning, type CodeSigningConfigInput } from './configs.js';
export { SigningProfiles, type SigningProfileView } from './profiles.js';
export { SIGNATURE_PATH, manifestDigest, parseSignature, signedPayload, type SignatureDocument } from './signature.js';
export { signZip } from './sign-zip.js';
