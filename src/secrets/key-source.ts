import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { KEY_BYTES } from './cipher.js';

export interface KeySourceResult {
  key: Buffer;
  /** What happened, for one start-up log line. */
  origin: 'config' | 'file' | 'created';
}

/**
 * The encryption key comes from `secrets.key` (base64, e.g. from a secret
 * store via VIM_MONITOR_SECRETS_KEY) or from `secrets.key_file`, which is
 * created with mode 0600 when missing. Only the key guard calls this, and
 * only for a database that holds no sealed secret and no key check: anywhere
 * else a missing file means a lost key, and a new one would orphan every
 * stored secret. A key file readable by others is tightened rather than
 * refused, and a malformed one stops start-up.
 */
export function loadSecretKey(options: { key?: string; keyFile: string }): KeySourceResult {
  if (options.key !== undefined) return { key: decodeKey(options.key, 'secrets.key'), origin: 'config' };
  const file = options.keyFile;
  const existing = readKeyFile(file);
  if (existing) return { key: existing, origin: 'file' };
  const created = guardFile(file, () => createKeyFile(file));
  // undefined: another process created the file first; then it is read.
  if (created) return { key: created, origin: 'created' };
  return { key: readKeyFile(file) ?? decodeKey('', `secrets.key_file (${file})`), origin: 'file' };
}

/** The key in `file`, or undefined when there is no such file. Never creates one. */
export function readKeyFile(file: string): Buffer | undefined {
  return guardFile(file, () => {
    if (!existsSync(file)) return undefined;
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return decodeKey(readFileSync(file, 'utf8').trim(), `secrets.key_file (${file})`);
  });
}

/**
 * Writes `key` to `file` (mode 0600) and makes it durable before returning:
 * the file's data and its directory entry are fsynced, so a crash right
 * after cannot leave a database sealed with a key that never reached disk.
 */
export function writeKeyFileDurably(file: string, key: Buffer): void {
  guardFile(file, () => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    rmSync(file, { force: true });
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, key.toString('base64') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    syncDirectory(dirname(file));
  });
}

/**
 * Makes `<file>.new` the key file: the current one is kept as `<file>.old`
 * (a hard link, so `file` exists at every moment), then `.new` is renamed
 * over `file` in one atomic step. Safe to repeat after a crash at any point,
 * and when two processes finishing the same rotation race (the loser finds
 * `.new` gone); the caller checks the key file it then reads.
 */
export function promoteNewKeyFile(file: string): void {
  guardFile(file, () => {
    if (!existsSync(`${file}.new`)) return;
    if (existsSync(file)) {
      rmSync(`${file}.old`, { force: true });
      ignoring(['EEXIST'], () => linkSync(file, `${file}.old`));
    }
    ignoring(['ENOENT'], () => renameSync(`${file}.new`, file));
    syncDirectory(dirname(file));
  });
}

/** Returns the new key, or undefined when another process created the file first. */
function createKeyFile(file: string): Buffer | undefined {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // Written whole under a private name, then linked into place: a crash never leaves a half-written key file.
  const scratch = `${file}.tmp-${process.pid}`;
  writeKeyFileDurably(scratch, key);
  try {
    linkSync(scratch, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  } finally {
    rmSync(scratch, { force: true });
  }
  syncDirectory(dirname(file));
  return key;
}

function ignoring(codes: string[], work: () => void): void {
  try {
    work();
  } catch (error) {
    if (!codes.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** File system failures become one ConfigurationError naming the key and the errno. */
function guardFile<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigurationError(`configuration key secrets.key_file (${file}) cannot be used: ${code}`, { cause: error });
  }
}

export function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new ConfigurationError(`configuration key ${where} must hold ${KEY_BYTES} bytes encoded as base64`);
  }
  return key;
}
