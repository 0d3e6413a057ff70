import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.js';
import { loadSecretKey } from './key-source.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vim-monitor-key-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn`, expects a ConfigurationError and returns its message. */
function configErrorOf(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigurationError);
  return (caught as ConfigurationError).message;
}

const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe('loadSecretKey from secrets.key_file', () => {
  it('creates a 32 byte key file with mode 0600 inside new nested directories', () => {
    const file = join(dir, 'a', 'b', 'c', 'secret.key');
    const result = loadSecretKey({ keyFile: file });
    expect(result.origin).toBe('created');
    expect(result.key).toHaveLength(32);
    expect(existsSync(file)).toBe(true);
    expect(modeOf(file)).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`${result.key.toString('base64')}\n`);
  });

  it('creates the new directories without access for group and others', () => {
    const file = join(dir, 'private', 'secret.key');
    loadSecretKey({ keyFile: file });
    expect(statSync(join(dir, 'private')).mode & 0o077).toBe(0);
  });

  it('reuses the key it created on the second call, with origin file', () => {
    const file = join(dir, 'nested', 'secret.key');
    const first = loadSecretKey({ keyFile: file });
    const second = loadSecretKey({ keyFile: file });
    expect(second.origin).toBe('file');
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('creates a different key for a different file', () => {
    const a = loadSecretKey({ keyFile: join(dir, 'a.key') });
    const b = loadSecretKey({ keyFile: join(dir, 'b.key') });
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('reads an existing key file written by someone else, ignoring surrounding whitespace', () => {
    const key = randomBytes(32);
    const file = join(dir, 'secret.key');
    writeFileSync(file, `  ${key.toString('base64')}\r\n`, { mode: 0o600 });
    const result = loadSecretKey({ keyFile: file });
    expect(result).toEqual({ key, origin: 'file' });
  });

  it('tightens a 0644 key file to 0600 and still reads its key', () => {
    const key = randomBytes(32);
    const file = join(dir, 'secret.key');
    writeFileSync(file, key.toString('base64'));
    chmodSync(file, 0o644);
    expect(modeOf(file)).toBe(0o644);
    const result = loadSecretKey({ keyFile: file });
    expect(modeOf(file)).toBe(0o600);
    expect(result.key.equals(key)).toBe(true);
  });

  it('leaves a 0400 key file as it is', () => {
    const file = join(dir, 'secret.key');
    writeFileSync(file, randomBytes(32).toString('base64'));
    chmodSync(file, 0o400);
    loadSecretKey({ keyFile: file });
    expect(modeOf(file)).toBe(0o400);
  });

  it('refuses a key file that is not base64, naming secrets.key_file and the file', () => {
    const file = join(dir, 'secret.key');
    writeFileSync(file, 'this is not a key\n', { mode: 0o600 });
    expect(configErrorOf(() => loadSecretKey({ keyFile: file }))).toBe(
      `configuration key secrets.key_file (${file}) must hold 32 bytes encoded as base64`,
    );
  });

  it('refuses a key file holding a 16 byte key instead of making a new one', () => {
    const file = join(dir, 'secret.key');
    const short = randomBytes(16).toString('base64');
    writeFileSync(file, short, { mode: 0o600 });
    expect(configErrorOf(() => loadSecretKey({ keyFile: file }))).toContain('secrets.key_file');
    expect(readFileSync(file, 'utf8')).toBe(short);
  });

  it('refuses an empty key file', () => {
    const file = join(dir, 'secret.key');
    writeFileSync(file, '', { mode: 0o600 });
    expect(configErrorOf(() => loadSecretKey({ keyFile: file }))).toBe(
      `configuration key secrets.key_file (${file}) must hold 32 bytes encoded as base64`,
    );
  });
});

describe('loadSecretKey from secrets.key', () => {
  it('accepts base64 of 32 bytes from the configuration, with origin config', () => {
    const key = randomBytes(32);
    const result = loadSecretKey({ key: key.toString('base64'), keyFile: join(dir, 'unused.key') });
    expect(result.origin).toBe('config');
    expect(result.key.equals(key)).toBe(true);
  });

  it('does not create the key file when the key comes from the configuration', () => {
    const file = join(dir, 'unused', 'secret.key');
    loadSecretKey({ key: randomBytes(32).toString('base64'), keyFile: file });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(join(dir, 'unused'))).toBe(false);
  });

  it('refuses a configured key of 31 bytes, naming secrets.key without echoing it', () => {
    const wrong = randomBytes(31).toString('base64');
    const message = configErrorOf(() => loadSecretKey({ key: wrong, keyFile: join(dir, 'unused.key') }));
    expect(message).toBe('configuration key secrets.key must hold 32 bytes encoded as base64');
    expect(message).not.toContain(wrong);
  });

  it('refuses a configured key of 64 bytes', () => {
    expect(configErrorOf(() => loadSecretKey({ key: randomBytes(64).toString('base64'), keyFile: join(dir, 'k') }))).toBe(
      'configuration key secrets.key must hold 32 bytes encoded as base64',
    );
  });

  it('refuses a configured key given as 64 hex characters instead of base64', () => {
    expect(configErrorOf(() => loadSecretKey({ key: randomBytes(32).toString('hex'), keyFile: join(dir, 'k') }))).toBe(
      'configuration key secrets.key must hold 32 bytes encoded as base64',
    );
  });
});

describe('loadSecretKey on an unusable path', () => {
  it('reports a directory in place of the key file as a ConfigurationError naming secrets.key_file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-keydir-'));
    expect(() => loadSecretKey({ keyFile: dir })).toThrow(ConfigurationError);
    expect(() => loadSecretKey({ keyFile: dir })).toThrow(/secrets\.key_file .* cannot be used: EISDIR/);
    rmSync(dir, { recursive: true, force: true });
  });
});
