import { SecretKeyError } from '../errors.js';
import type { SecretRepository } from '../store/secret-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { keyIdOf, SecretCipher } from './cipher.js';
import { decodeKey, loadSecretKey, promoteNewKeyFile, readKeyFile } from './key-source.js';

export interface KeySettings {
  /** secrets.key (base64), when the key comes from the configuration. */
  key?: string;
  keyFile: string;
}

export interface GuardedKey {
  key: Buffer;
  keyId: string;
  /** created: first start, a new key file; adopted: an upgraded database took this key's id as its check. */
  origin: 'config' | 'file' | 'created';
  adopted: boolean;
  /** A crash had left a committed rotation's key in `<key_file>.new`; it is now the key file. */
  finishedRotation: boolean;
}

/**
 * Finds the key that opens this database's secrets, and never makes a new
 * one for a database that holds sealed secrets or a key check: a missing or
 * different key stops start-up with a SecretKeyError saying how to fix it.
 *
 * - key check stored: the configured key must have that id. With a key file,
 *   `<key_file>.new` having it means a rotation committed and crashed before
 *   its rename: the rename is finished here.
 * - no key check, sealed secrets (a database from before key checks): the
 *   key is adopted, its id stored, only if it opens every sealed secret.
 * - neither (first start): the key file is created if needed, its id stored.
 */
export async function guardSecretKey(settings: KeySettings, secrets: SecretRepository, clock: Clock): Promise<GuardedKey> {
  const check = await secrets.keyCheck();
  const origin: GuardedKey['origin'] = settings.key !== undefined ? 'config' : 'file';
  const source = settings.key !== undefined ? 'secrets.key' : `secret key file ${settings.keyFile}`;
  const configured = settings.key !== undefined ? decodeKey(settings.key, 'secrets.key') : readKeyFile(settings.keyFile);

  if (check) {
    if (configured && keyIdOf(configured) === check.keyId) return { key: configured, keyId: check.keyId, origin, adopted: false, finishedRotation: false };
    if (settings.key === undefined) {
      const next = readStrayKeyFile(`${settings.keyFile}.new`);
      if (next && keyIdOf(next) === check.keyId) {
        promoteNewKeyFile(settings.keyFile);
        const promoted = readKeyFile(settings.keyFile);
        if (promoted && keyIdOf(promoted) === check.keyId) return { key: promoted, keyId: check.keyId, origin, adopted: false, finishedRotation: true };
      }
    }
    throw new SecretKeyError(refusal(settings, configured, check.keyId, check.pendingKeyId));
  }

  const sealed = await secrets.sealedValues();
  if (sealed.length > 0) {
    if (!configured) {
      throw new SecretKeyError(
        `${source} is missing, but the database holds ${sealed.length} sealed secrets: restore the key file from its backup (or set secrets.key); a new key would leave them unreadable`,
      );
    }
    const cipher = new SecretCipher(configured);
    const unopened = sealed.filter((envelope) => !cipher.opens(envelope)).length;
    if (unopened > 0) {
      throw new SecretKeyError(
        `${source} (key ${cipher.keyId}) does not open ${unopened} of the ${sealed.length} sealed secrets in the database: restore the key they were sealed with (key file backup, or secrets.key)`,
      );
    }
    const stored = await secrets.adoptKeyId(cipher.keyId, tackerTimestamp(clock.now()));
    if (stored !== cipher.keyId) throw new SecretKeyError(refusal(settings, configured, stored, null));
    return { key: configured, keyId: cipher.keyId, origin, adopted: true, finishedRotation: false };
  }

  // First start: nothing is sealed and no key is named yet, so a new key orphans nothing.
  const loaded = configured ? { key: configured, origin } : loadSecretKey(settings);
  const keyId = keyIdOf(loaded.key);
  const stored = await secrets.adoptKeyId(keyId, tackerTimestamp(clock.now()));
  // Another process's first start on the same database won the race with another key.
  if (stored !== keyId) throw new SecretKeyError(refusal(settings, loaded.key, stored, null));
  return { key: loaded.key, keyId, origin: loaded.origin, adopted: false, finishedRotation: false };
}

/** A rotation's `.new` file: one half-written by a crash before the commit is no key at all. */
function readStrayKeyFile(file: string): Buffer | undefined {
  try {
    return readKeyFile(file);
  } catch {
    return undefined;
  }
}

function refusal(settings: KeySettings, configured: Buffer | undefined, storedId: string, pendingId: string | null): string {
  const sealedBy = `the database's secrets are sealed with key ${storedId}`;
  if (settings.key !== undefined) {
    const id = keyIdOf(configured ?? Buffer.alloc(0));
    const uncommitted =
      pendingId === id ? ' (it is the new key of a `secrets rotate` that did not commit: use the previous key, then run the rotation again)' : '';
    return `secrets.key is key ${id}, but ${sealedBy}${uncommitted}: set secrets.key (VIM_MONITOR_SECRETS_KEY) to this database's key`;
  }
  const file = settings.keyFile;
  if (!configured) {
    return `secret key file ${file} is missing, but ${sealedBy}: restore the key file from its backup (or set secrets.key); a new key would leave them unreadable`;
  }
  return `secret key file ${file} holds key ${keyIdOf(configured)}, but ${sealedBy}: restore this database's key file (from its backup, or ${file}.old after a rotation) or set secrets.key`;
}
