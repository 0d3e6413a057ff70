import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InternalError } from '../errors.js';

const ALGORITHM = 'aes-256-gcm';
const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/**
 * Authenticated encryption of VIM secrets at rest (AES-256-GCM, random IV per
 * value). The envelope is `enc:v1:<base64(iv | tag | ciphertext)>`; the
 * version lets a future key rotation tell old values from new ones.
 */
export class SecretCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new InternalError(`secret key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  decrypt(envelope: string): string {
    if (!SecretCipher.isEnvelope(envelope)) throw new InternalError('stored secret is not an encrypted envelope');
    const raw = Buffer.from(envelope.slice(PREFIX.length), 'base64');
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const body = raw.subarray(IV_BYTES + TAG_BYTES);
    try {
      // authTagLength: otherwise GCM also accepts a tag cut down to 4..15 bytes.
      const decipher = createDecipheriv(ALGORITHM, this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch (err) {
      // Wrong key file or tampered row: say which, never what.
      throw new InternalError('a stored secret cannot be decrypted with the configured key', { cause: err });
    }
  }

  static isEnvelope(value: string): boolean {
    return value.startsWith(PREFIX);
  }
}
