import crypto from 'node:crypto';

/** A message attribute as callers hand it over (binary values as bytes). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

export function md5Hex(data: string | Buffer): string {
  return crypto.createHash('md5').update(data).digest('hex');
}

/**
 * SQS's MD5OfMessageAttributes (and MD5OfMessageSystemAttributes): attributes sorted by name,
 * each encoded as length-prefixed (4-byte big-endian) name, length-prefixed data type, one
 * transport byte (1 = string/number, 2 = binary) and the length-prefixed value; MD5 of it all.
 */
export function md5OfAttributes(attributes: MessageAttributes): string {
  const hash = crypto.createHash('md5');
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name];
    if (!value) continue;
    hash.update(lengthPrefixed(Buffer.from(name, 'utf8')));
    hash.update(lengthPrefixed(Buffer.from(value.DataType, 'utf8')));
    if (value.BinaryValue !== undefined && value.DataType.startsWith('Binary')) {
      hash.update(Buffer.of(2));
      hash.update(lengthPrefixed(value.BinaryValue));
    } else {
      hash.update(Buffer.of(1));
      hash.update(lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8')));
    }
  }
  return hash.digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
