import { createInterface } from 'node:readline';
import type { Config } from '../config/schema.js';
import { rotateSecretKey, type RotationOutcome } from '../secrets/rotate.js';
import { openStore } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { SecretRepository } from '../store/secret-repository.js';
import { systemClock } from '../time/clock.js';

/**
 * `vim-monitor secrets rotate`. With a key file the new key is written
 * beside it and swapped in after the commit. With secrets.key there is no
 * file to write: the new key is printed on stdout and the rotation commits
 * only after the operator types its key id back (stdin), i.e. after they
 * have stored it; end of input or anything else cancels with no change.
 */
export async function runSecretsRotate(config: Config, io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; prompt: NodeJS.WritableStream }): Promise<RotationOutcome> {
  const store = openStore(config.database.url, { poolSize: 1 });
  try {
    await migrateToLatest(store);
    const secrets = new SecretRepository(store);
    const settings = { keyFile: config.secrets.key_file, ...(config.secrets.key !== undefined && { key: config.secrets.key }) };
    // A process killed without a clean stop keeps looking alive for one lease.
    const staleAfterMs = Math.max(config.manager.lease_ttl, config.outbox.lease_ttl) * 1000;
    const outcome = await rotateSecretKey({
      settings,
      secrets,
      clock: systemClock,
      runningProcesses: async () => {
        const now = systemClock.now().getTime();
        return secrets.runningProcesses(now, now - staleAfterMs);
      },
      confirmNewKey: async (newKey, keyId) => {
        io.output.write(`new secrets.key (key ${keyId}): ${newKey}\n`);
        io.prompt.write(`store the new key where secrets.key comes from (e.g. VIM_MONITOR_SECRETS_KEY), then type its key id (${keyId}) to commit the rotation: `);
        return (await firstLine(io.input)) === keyId;
      },
    });
    const where =
      config.secrets.key === undefined
        ? `; the key file ${config.secrets.key_file} holds it now, the previous key is kept in ${config.secrets.key_file}.old: back up the new key file`
        : '; start vim-monitor with the new secrets.key';
    io.output.write(
      `rotated: ${outcome.vims} VIM credentials, ${outcome.subscriptions} webhook secrets and ${outcome.sessions} dashboard sessions re-sealed, key ${outcome.fromKeyId} -> ${outcome.toKeyId}${where}\n`,
    );
    return outcome;
  } finally {
    await store.close();
  }
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({ input, terminal: false });
  return new Promise((resolve) => {
    lines.once('line', (line) => {
      // Resolve before close(): close() emits 'close' at once, which would resolve with nothing.
      resolve(line.trim());
      lines.close();
    });
    lines.once('close', () => resolve(undefined));
  });
}
