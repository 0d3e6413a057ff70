import { randomBytes } from 'node:crypto';
import { SecretKeyError } from '../errors.js';
import type { SecretRepository } from '../store/secret-repository.js';
import { tackerTimestamp, type Clock } from '../time/clock.js';
import { KEY_BYTES, SecretCipher } from './cipher.js';
import { guardSecretKey, type KeySettings } from './key-guard.js';
import { promoteNewKeyFile, writeKeyFileDurably } from './key-source.js';

/** The points between the durable steps of a rotation; a crash can happen at any of them. */
export type RotationStep = 'new-key-stored' | 'resealed' | 'committed' | 'promoted';

export interface RotationOptions {
  settings: KeySettings;
  secrets: SecretRepository;
  clock: Clock;
  /** Processes still using the database (their heartbeats are fresh): rotation waits until they are stopped. */
  runningProcesses: () => Promise<string[]>;
  /**
   * secrets.key only: shows the new key to the operator and resolves true once
   * they have stored it where secrets.key comes from. Nothing is committed
   * before that, since the database would then need a key nobody has.
   */
  confirmNewKey: (newKey: string, keyId: string) => Promise<boolean>;
  /** Tests: called after each step; throwing there stands for a crash at that point. */
  onStep?: (step: RotationStep) => void | Promise<void>;
}

export interface RotationOutcome {
  fromKeyId: string;
  toKeyId: string;
  vims: number;
  subscriptions: number;
  sessions: number;
  /** Start-up had to finish a previous rotation first. */
  finishedPrevious: boolean;
}

/**
 * Re-seals every stored secret under a new key. Crash-safe because each
 * step leaves a state that start-up (and a re-run) understands:
 *
 * 1. the new key is stored: `<key_file>.new`, fsynced (key file), or shown
 *    and confirmed by the operator (secrets.key). The database still names
 *    the old key, so a crash here loses nothing; the stray key is unused.
 * 2. one transaction re-seals every secret and moves the key check to the
 *    new key: either all of it happened or none.
 * 3. key file only: `<key_file>` becomes `<key_file>.old` and `.new` is
 *    renamed over it. After a crash before the rename, start-up sees the
 *    check naming `.new`'s key and finishes the rename.
 */
export async function rotateSecretKey(options: RotationOptions): Promise<RotationOutcome> {
  const { settings, secrets, clock } = options;
  const current = await guardSecretKey(settings, secrets, clock);
  const running = await options.runningProcesses();
  if (running.length > 0) {
    throw new SecretKeyError(
      `secrets rotate needs every vim-monitor process on this database stopped (still running: ${running.join(', ')}): they would go on sealing with the old key`,
    );
  }
  const oldCipher = new SecretCipher(current.key);
  const newKey = randomBytes(KEY_BYTES);
  const newCipher = new SecretCipher(newKey);

  if (settings.key === undefined) {
    writeKeyFileDurably(`${settings.keyFile}.new`, newKey);
  } else {
    await secrets.setPendingKeyId(current.keyId, newCipher.keyId);
    if (!(await options.confirmNewKey(newKey.toString('base64'), newCipher.keyId))) {
      await secrets.setPendingKeyId(current.keyId, null);
      throw new SecretKeyError('secrets rotate cancelled: the new key was not confirmed; nothing changed, secrets.key stays as it is');
    }
  }
  await options.onStep?.('new-key-stored');

  const resealed = await secrets.resealAll(
    current.keyId,
    newCipher.keyId,
    (envelope) => newCipher.encrypt(oldCipher.decrypt(envelope)),
    tackerTimestamp(clock.now()),
    () => options.onStep?.('resealed'),
  );
  await options.onStep?.('committed');

  if (settings.key === undefined) {
    promoteNewKeyFile(settings.keyFile);
    await options.onStep?.('promoted');
  }
  return { fromKeyId: current.keyId, toKeyId: newCipher.keyId, ...resealed, finishedPrevious: current.finishedRotation };
}
