import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { InternalError } from '../errors.js';

const ALGORITHM = 'aes-256-gcm';
/** Untagged envelopes written before key ids existed; still read, never written. */
const PREFIX_V1 = 'enc:v1:';
const PREFIX_V2 = 'enc:v2:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
const KEY_ID = /^[0-9a-f]{16}$/;

/**
 * A key's public name: the first 8 bytes of HMAC-SHA256(key, label), in hex.
 * One-way, so it can be stored beside the data (the database's key check,
 * each envelope) and printed in errors; it tells keys apart without telling
 * anything about them.
 */
export function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('vim-monitor secret key id v1').digest('hex').slice(0, 16);
}

/**
 * Authenticated encryption of secrets at rest (AES-256-GCM, random IV per
 * value). The envelope is `enc:v2:<key id>:<base64(iv | tag | ciphertext)>`:
 * the key id names the key that sealed the value, so a value sealed under
 * another key is reported as such rather than as tampering.
 */
export class SecretCipher {
  readonly #key: Buffer;
  readonly keyId: string;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new InternalError(`secret key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.keyId = keyIdOf(this.#key);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX_V2}${this.keyId}:` + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  decrypt(envelope: string): string {
    if (!SecretCipher.isEnvelope(envelope)) throw new InternalError('stored secret is not an encrypted envelope');
    const sealedBy = SecretCipher.keyIdOf(envelope);
    if (sealedBy !== undefined && sealedBy !== this.keyId) {
      throw new InternalError(`a stored secret was sealed with key ${sealedBy}, not with the configured key ${this.keyId}`);
    }
    const raw = Buffer.from(envelope.slice(envelope.lastIndexOf(':') + 1), 'base64');
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

  /** Whether `decrypt` would open the envelope (key id and authentication tag both right). */
  opens(envelope: string): boolean {
    try {
      this.decrypt(envelope);
      return true;
    } catch {
      return false;
    }
  }

  static isEnvelope(value: string): boolean {
    if (value.startsWith(PREFIX_V1)) return true;
    return value.startsWith(PREFIX_V2) && KEY_ID.test(value.slice(PREFIX_V2.length, PREFIX_V2.length + 16)) && value[PREFIX_V2.length + 16] === ':';
  }

  /** The id of the key that sealed an envelope; undefined for untagged (v1) envelopes. */
  static keyIdOf(envelope: string): string | undefined {
    return envelope.startsWith(PREFIX_V2) ? envelope.slice(PREFIX_V2.length, PREFIX_V2.length + 16) : undefined;
  }
}
