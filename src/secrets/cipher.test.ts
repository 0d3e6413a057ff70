import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../errors.js';
import { KEY_BYTES, SecretCipher } from './cipher.js';

const PREFIX = 'enc:v1:';

/** Runs `fn`, expects an InternalError and returns it. */
function internalErrorOf(fn: () => unknown): InternalError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InternalError);
  return caught as InternalError;
}

/** Rewrites the envelope's raw bytes (iv | tag | ciphertext). */
function tamper(envelope: string, edit: (raw: Buffer) => Buffer): string {
  const raw = Buffer.from(envelope.slice(PREFIX.length), 'base64');
  return PREFIX + edit(Buffer.from(raw)).toString('base64');
}

describe('SecretCipher', () => {
  it('uses 32 byte keys (AES-256)', () => {
    expect(KEY_BYTES).toBe(32);
  });

  it('decrypts what it encrypted', () => {
    const cipher = new SecretCipher(randomBytes(32));
    expect(cipher.decrypt(cipher.encrypt('s3cret-password'))).toBe('s3cret-password');
  });

  it('round-trips unicode text (accents, CJK, emoji)', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const text = 'pässwörd-秘密-🔐-ñ';
    expect(cipher.decrypt(cipher.encrypt(text))).toBe(text);
  });

  it('round-trips an empty string and a long multi-line PEM-like value', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const pem = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n`.repeat(50);
    expect(cipher.decrypt(cipher.encrypt(''))).toBe('');
    expect(cipher.decrypt(cipher.encrypt(pem))).toBe(pem);
  });

  it('decrypts with a second instance built from the same key bytes', () => {
    const key = randomBytes(32);
    const envelope = new SecretCipher(key).encrypt('shared');
    expect(new SecretCipher(Buffer.from(key)).decrypt(envelope)).toBe('shared');
  });

  it('is not affected when the caller later overwrites the key buffer it passed in', () => {
    const key = randomBytes(32);
    const cipher = new SecretCipher(key);
    const envelope = cipher.encrypt('kept');
    key.fill(0);
    expect(cipher.decrypt(envelope)).toBe('kept');
  });

  it('produces an enc:v1: envelope that does not contain the plaintext', () => {
    const envelope = new SecretCipher(randomBytes(32)).encrypt('visible-plaintext');
    expect(envelope.startsWith(PREFIX)).toBe(true);
    expect(envelope).not.toContain('visible-plaintext');
    // 12 byte IV + 16 byte tag + 17 bytes of ciphertext
    expect(Buffer.from(envelope.slice(PREFIX.length), 'base64')).toHaveLength(12 + 16 + 17);
  });

  it('gives two different envelopes for the same value (random IV)', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const first = cipher.encrypt('same value');
    const second = cipher.encrypt('same value');
    expect(first).not.toBe(second);
    const ivOf = (e: string): string => Buffer.from(e.slice(PREFIX.length), 'base64').subarray(0, 12).toString('hex');
    expect(ivOf(first)).not.toBe(ivOf(second));
    expect(cipher.decrypt(first)).toBe('same value');
    expect(cipher.decrypt(second)).toBe('same value');
  });

  it('refuses a flipped ciphertext byte with an InternalError that does not contain the plaintext', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const tampered = tamper(cipher.encrypt('tamper-target'), (raw) => {
      raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 0x01;
      return raw;
    });
    const error = internalErrorOf(() => cipher.decrypt(tampered));
    expect(error.message).toBe('a stored secret cannot be decrypted with the configured key');
    expect(error.message).not.toContain('tamper-target');
  });

  it('refuses a flipped authentication tag byte', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const tampered = tamper(cipher.encrypt('tag-target'), (raw) => {
      raw[12] = (raw[12] as number) ^ 0x80;
      return raw;
    });
    expect(internalErrorOf(() => cipher.decrypt(tampered)).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('refuses a flipped IV byte', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const tampered = tamper(cipher.encrypt('iv-target'), (raw) => {
      raw[0] = (raw[0] as number) ^ 0x01;
      return raw;
    });
    expect(internalErrorOf(() => cipher.decrypt(tampered)).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('refuses an envelope cut down to a short authentication tag', () => {
    // An empty value has no ciphertext, so cutting the envelope only shortens the tag.
    const cipher = new SecretCipher(randomBytes(32));
    const truncated = tamper(cipher.encrypt(''), (raw) => raw.subarray(0, 12 + 4));
    expect(internalErrorOf(() => cipher.decrypt(truncated)).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('refuses an envelope with nothing after the prefix', () => {
    const cipher = new SecretCipher(randomBytes(32));
    expect(internalErrorOf(() => cipher.decrypt(PREFIX)).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('refuses to decrypt with the wrong key, without revealing the plaintext', () => {
    const envelope = new SecretCipher(randomBytes(32)).encrypt('wrong-key-target');
    const error = internalErrorOf(() => new SecretCipher(randomBytes(32)).decrypt(envelope));
    expect(error.message).toBe('a stored secret cannot be decrypted with the configured key');
    expect(error.message).not.toContain('wrong-key-target');
    expect(error.code).toBe('VIMMON_ERR_INTERNAL');
  });

  it('refuses a plain value that is not an envelope, without echoing it', () => {
    const error = internalErrorOf(() => new SecretCipher(randomBytes(32)).decrypt('plain-stored-password'));
    expect(error.message).toBe('stored secret is not an encrypted envelope');
    expect(error.message).not.toContain('plain-stored-password');
  });

  it('refuses a 16 byte key', () => {
    expect(internalErrorOf(() => new SecretCipher(randomBytes(16))).message).toBe('secret key must be 32 bytes');
  });

  it('refuses a 33 byte key and an empty key', () => {
    expect(internalErrorOf(() => new SecretCipher(randomBytes(33))).message).toBe('secret key must be 32 bytes');
    expect(internalErrorOf(() => new SecretCipher(Buffer.alloc(0))).message).toBe('secret key must be 32 bytes');
  });
});

describe('SecretCipher.isEnvelope', () => {
  it('recognises the output of encrypt', () => {
    expect(SecretCipher.isEnvelope(new SecretCipher(randomBytes(32)).encrypt('x'))).toBe(true);
  });

  it('recognises any value with the enc:v1: prefix', () => {
    expect(SecretCipher.isEnvelope('enc:v1:AAAA')).toBe(true);
  });

  it('does not take plain values, other versions or a prefix in the middle for envelopes', () => {
    expect(SecretCipher.isEnvelope('password')).toBe(false);
    expect(SecretCipher.isEnvelope('')).toBe(false);
    expect(SecretCipher.isEnvelope('enc:v2:AAAA')).toBe(false);
    expect(SecretCipher.isEnvelope('ENC:V1:AAAA')).toBe(false);
    expect(SecretCipher.isEnvelope('x enc:v1:AAAA')).toBe(false);
  });
});
