import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
 * created with mode 0600 on first start. A key file readable by others is
 * tightened rather than refused, and a malformed one stops start-up: silently
 * making a new key would orphan every stored secret.
 */
export function loadSecretKey(options: { key?: string; keyFile: string }): KeySourceResult {
  if (options.key !== undefined) return { key: decodeKey(options.key, 'secrets.key'), origin: 'config' };

  const file = options.keyFile;
  try {
    if (!existsSync(file)) {
      const created = createKeyFile(file);
      if (created) return { key: created, origin: 'created' };
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { key: decodeKey(readFileSync(file, 'utf8').trim(), `secrets.key_file (${file})`), origin: 'file' };
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigurationError(`configuration key secrets.key_file (${file}) cannot be used: ${code}`, { cause: error });
  }
}

/** Returns the new key, or undefined when another process created the file first (then it is read). */
function createKeyFile(file: string): Buffer | undefined {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new ConfigurationError(`configuration key ${where} must hold ${KEY_BYTES} bytes encoded as base64`);
  }
  return key;
}
