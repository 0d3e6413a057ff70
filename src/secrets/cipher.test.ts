import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InternalError } from '../errors.js';
import { KEY_BYTES, keyIdOf, SecretCipher } from './cipher.js';

/** Everything before the base64 body: `enc:v2:<key id>:`. */
const prefixOf = (envelope: string): string => envelope.slice(0, envelope.lastIndexOf(':') + 1);

/** An envelope as written before key ids existed (enc:v1:, untagged). */
function legacyEnvelope(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return 'enc:v1:' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

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
  const raw = Buffer.from(envelope.slice(prefixOf(envelope).length), 'base64');
  return prefixOf(envelope) + edit(Buffer.from(raw)).toString('base64');
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

  it('produces an enc:v2: envelope tagged with the key id that does not contain the plaintext', () => {
    const key = randomBytes(32);
    const envelope = new SecretCipher(key).encrypt('visible-plaintext');
    expect(prefixOf(envelope)).toBe(`enc:v2:${keyIdOf(key)}:`);
    expect(envelope).not.toContain('visible-plaintext');
    // 12 byte IV + 16 byte tag + 17 bytes of ciphertext
    expect(Buffer.from(envelope.slice(prefixOf(envelope).length), 'base64')).toHaveLength(12 + 16 + 17);
  });

  it('names keys by a 16 hex digit id that differs between keys and reveals nothing of the key', () => {
    const key = randomBytes(32);
    expect(keyIdOf(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(new SecretCipher(key).keyId).toBe(keyIdOf(key));
    expect(keyIdOf(randomBytes(32))).not.toBe(keyIdOf(key));
    expect(key.toString('hex')).not.toContain(keyIdOf(key));
  });

  it('still opens an untagged enc:v1: envelope written before key ids, and refuses one of another key', () => {
    const key = randomBytes(32);
    expect(new SecretCipher(key).decrypt(legacyEnvelope(key, 'old-password'))).toBe('old-password');
    expect(internalErrorOf(() => new SecretCipher(randomBytes(32)).decrypt(legacyEnvelope(key, 'old-password'))).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('tells whether it opens an envelope without throwing', () => {
    const cipher = new SecretCipher(randomBytes(32));
    expect(cipher.opens(cipher.encrypt('x'))).toBe(true);
    expect(cipher.opens(new SecretCipher(randomBytes(32)).encrypt('x'))).toBe(false);
    expect(cipher.opens('plain')).toBe(false);
  });

  it('gives two different envelopes for the same value (random IV)', () => {
    const cipher = new SecretCipher(randomBytes(32));
    const first = cipher.encrypt('same value');
    const second = cipher.encrypt('same value');
    expect(first).not.toBe(second);
    const ivOf = (e: string): string => Buffer.from(e.slice(prefixOf(e).length), 'base64').subarray(0, 12).toString('hex');
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
    expect(internalErrorOf(() => cipher.decrypt(`enc:v2:${cipher.keyId}:`)).message).toBe(
      'a stored secret cannot be decrypted with the configured key',
    );
  });

  it('refuses to decrypt with the wrong key, naming both key ids without revealing the plaintext', () => {
    const sealing = new SecretCipher(randomBytes(32));
    const other = new SecretCipher(randomBytes(32));
    const envelope = sealing.encrypt('wrong-key-target');
    const error = internalErrorOf(() => other.decrypt(envelope));
    expect(error.message).toBe(`a stored secret was sealed with key ${sealing.keyId}, not with the configured key ${other.keyId}`);
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

  it('recognises any value with the enc:v1: prefix, and enc:v2: with a key id', () => {
    expect(SecretCipher.isEnvelope('enc:v1:AAAA')).toBe(true);
    expect(SecretCipher.isEnvelope('enc:v2:0123456789abcdef:AAAA')).toBe(true);
  });

  it('does not take plain values, other versions or a prefix in the middle for envelopes', () => {
    expect(SecretCipher.isEnvelope('password')).toBe(false);
    expect(SecretCipher.isEnvelope('')).toBe(false);
    expect(SecretCipher.isEnvelope('enc:v2:AAAA')).toBe(false);
    expect(SecretCipher.isEnvelope('enc:v3:0123456789abcdef:AAAA')).toBe(false);
    expect(SecretCipher.isEnvelope('ENC:V1:AAAA')).toBe(false);
    expect(SecretCipher.isEnvelope('x enc:v1:AAAA')).toBe(false);
  });
});
