import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openstackInput } from '../../test/support/fixtures.js';
import { SecretKeyError } from '../errors.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { SecretRepository } from '../store/secret-repository.js';
import { SessionRepository } from '../store/session-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { systemClock } from '../time/clock.js';
import { VimRegistry } from '../vims/registry.js';
import { keyIdOf, SecretCipher } from './cipher.js';
import { guardSecretKey, type KeySettings } from './key-guard.js';
import { rotateSecretKey, type RotationOptions, type RotationStep } from './rotate.js';

const admin = { projectId: 'admin-project', userId: 'root', isAdmin: true };
const STEPS: RotationStep[] = ['new-key-stored', 'resealed', 'committed', 'promoted'];

describe.each(DIALECTS)('secrets rotate on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let dir: string;
  let keyFile: string;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.drop();
  });
  beforeEach(async () => {
    store = openStore(database.url, { poolSize: 2 });
    await migrateToLatest(store);
    dir = mkdtempSync(join(tmpdir(), 'vim-monitor-rotate-'));
    keyFile = join(dir, 'secret.key');
  });
  afterEach(async () => {
    for (const table of ['vims', 'subscriptions', 'ui_sessions', 'secret_key_check', 'workers'] as const) await store.db.deleteFrom(table).execute();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const secrets = () => new SecretRepository(store);
  const start = (settings: KeySettings = { keyFile }) => guardSecretKey(settings, secrets(), systemClock);
  const rotate = (options: Partial<RotationOptions> = {}) =>
    rotateSecretKey({
      settings: { keyFile },
      secrets: secrets(),
      clock: systemClock,
      runningProcesses: async () => [],
      confirmNewKey: async () => {
        throw new Error('a key file rotation asks nobody');
      },
      ...options,
    });
  const registryWith = (key: Buffer) => new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(key), clock: systemClock });

  /** First start, two VIMs with passwords, a webhook secret and the AMQP channel (no secret). */
  async function seed(settings: KeySettings = { keyFile }): Promise<Buffer> {
    const { key } = await start(settings);
    const registry = registryWith(key);
    await registry.create(admin, openstackInput('one', { authCred: { username: 'u1', password: 'password-one', user_domain_name: 'Default' } }));
    await registry.create(admin, openstackInput('two', { authCred: { username: 'u2', password: 'password-two', user_domain_name: 'Default' } }));
    const row = { tenant_id: 't', callback_url: 'http://127.0.0.1:1/', filter: '{}', created_at: '2026-01-01 00:00:00.000000', cursor_event_id: 0 };
    await store.db.insertInto('subscriptions').values({ ...row, id: 'hook', kind: 'webhook', secret: new SecretCipher(key).encrypt('hmac-secret-1234') }).execute();
    await store.db.insertInto('subscriptions').values({ ...row, id: 'amqp', kind: 'amqp', secret: '' }).execute();
    await new SessionRepository(store).create({
      idHash: 'a'.repeat(64),
      csrfToken: 'csrf',
      sealedToken: new SecretCipher(key).encrypt('keystone-token-1234'),
      userId: 'u',
      userName: 'alice',
      projectId: 'p',
      projectName: 'nfv',
      roles: ['member'],
      createdAtMs: 0,
      expiresAtMs: Number.MAX_SAFE_INTEGER,
    });
    return key;
  }

  /** What the monitors' auth probes get: each VIM's password read back through the registry. */
  async function passwordsWith(key: Buffer): Promise<Record<string, string | undefined>> {
    const registry = registryWith(key);
    const vims = await registry.list(admin, {});
    return Object.fromEntries(vims.map((vim) => [vim.name, registry.credentialsOf(vim).password]));
  }
  const sessionTokenWith = async (key: Buffer) =>
    new SecretCipher(key).decrypt((await store.db.selectFrom('ui_sessions').select('token').executeTakeFirstOrThrow()).token);
  const webhookSecretWith = async (key: Buffer) =>
    new SecretCipher(key).decrypt((await store.db.selectFrom('subscriptions').select('secret').where('id', '=', 'hook').executeTakeFirstOrThrow()).secret);

  it('re-seals every credential, webhook secret and dashboard session token under a new key that then opens them, and the old key no longer does', async () => {
    const oldKey = await seed();
    const outcome = await rotate();
    expect(outcome).toMatchObject({ fromKeyId: keyIdOf(oldKey), vims: 2, subscriptions: 1, sessions: 1 });

    const next = await start();
    expect(next.keyId).toBe(outcome.toKeyId);
    expect(next.key.equals(oldKey)).toBe(false);
    expect(await passwordsWith(next.key)).toEqual({ one: 'password-one', two: 'password-two' });
    expect(await webhookSecretWith(next.key)).toBe('hmac-secret-1234');
    await expect(passwordsWith(oldKey)).rejects.toThrow(`a stored secret was sealed with key ${outcome.toKeyId}, not with the configured key ${keyIdOf(oldKey)}`);
    await expect(webhookSecretWith(oldKey)).rejects.toThrow(/sealed with key/);
    expect(await sessionTokenWith(next.key)).toBe('keystone-token-1234');
    await expect(sessionTokenWith(oldKey)).rejects.toThrow(/sealed with key/);

    expect(readFileSync(`${keyFile}.old`, 'utf8').trim()).toBe(oldKey.toString('base64'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${keyFile}.new`)).toBe(false);
    const amqp = await store.db.selectFrom('subscriptions').select('secret').where('id', '=', 'amqp').executeTakeFirstOrThrow();
    expect(amqp.secret).toBe('');
  });

  it.each(STEPS)('recovers from a crash after step %s: the next start opens every secret, and a re-run completes the rotation', async (step) => {
    const oldKey = await seed();
    const crash = new Error(`crash after ${step}`);
    await expect(rotate({ onStep: (at) => { if (at === step) throw crash; } })).rejects.toBe(crash);

    const committed = step === 'committed' || step === 'promoted';
    const next = await start();
    expect(next.finishedRotation).toBe(step === 'committed');
    expect(next.key.equals(oldKey)).toBe(!committed);
    expect(await passwordsWith(next.key)).toEqual({ one: 'password-one', two: 'password-two' });
    expect(await webhookSecretWith(next.key)).toBe('hmac-secret-1234');
    // Before the commit the new key is a stray file nobody uses; after it, the swap is done.
    expect(existsSync(`${keyFile}.new`)).toBe(!committed);
    if (committed) expect(readFileSync(`${keyFile}.old`, 'utf8').trim()).toBe(oldKey.toString('base64'));

    const again = await rotate();
    expect(again.fromKeyId).toBe(next.keyId);
    const last = await start();
    expect(last.keyId).toBe(again.toKeyId);
    expect(await passwordsWith(last.key)).toEqual({ one: 'password-one', two: 'password-two' });
    expect(await webhookSecretWith(last.key)).toBe('hmac-secret-1234');
  });

  it('refuses to rotate while the key does not match, writing no new key and changing nothing', async () => {
    await seed();
    const before = await store.db.selectFrom('vims').select('auth_cred').orderBy('id').execute();
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    await expect(rotate()).rejects.toBeInstanceOf(SecretKeyError);
    expect(existsSync(`${keyFile}.new`)).toBe(false);
    expect(await store.db.selectFrom('vims').select('auth_cred').orderBy('id').execute()).toEqual(before);
  });

  it('refuses to rotate while another process still uses the database', async () => {
    await seed();
    await store.db.insertInto('workers').values({ id: 'host:42:abc', started_at_ms: Date.now(), heartbeat_ms: Date.now(), serves_api: 1 }).execute();
    await expect(rotate({ runningProcesses: () => secrets().runningProcesses(Date.now(), Date.now() - 10_000) })).rejects.toThrow(/needs every vim-monitor process on this database stopped \(still running: host:42:abc\)/);
    expect(existsSync(`${keyFile}.new`)).toBe(false);
  });

  describe('with secrets.key from the configuration', () => {
    it('commits only once the operator confirms having stored the printed key', async () => {
      const oldKey = randomBytes(32).toString('base64');
      await seed({ key: oldKey, keyFile });
      const refused = rotate({ settings: { key: oldKey, keyFile }, confirmNewKey: async () => false });
      await expect(refused).rejects.toThrow('secrets rotate cancelled: the new key was not confirmed; nothing changed');
      expect((await start({ key: oldKey, keyFile })).keyId).toBe(keyIdOf(Buffer.from(oldKey, 'base64')));
      expect((await secrets().keyCheck())?.pendingKeyId).toBeNull();

      let shown = '';
      const outcome = await rotate({ settings: { key: oldKey, keyFile }, confirmNewKey: async (key) => ((shown = key), true) });
      expect(keyIdOf(Buffer.from(shown, 'base64'))).toBe(outcome.toKeyId);
      expect(await passwordsWith(Buffer.from(shown, 'base64'))).toEqual({ one: 'password-one', two: 'password-two' });
      await expect(start({ key: oldKey, keyFile })).rejects.toBeInstanceOf(SecretKeyError);
      expect(existsSync(keyFile)).toBe(false);
    });

    it('names the uncommitted new key when a crash left it unused and the operator starts with it', async () => {
      const oldKey = randomBytes(32).toString('base64');
      await seed({ key: oldKey, keyFile });
      let shown = '';
      await expect(
        rotate({
          settings: { key: oldKey, keyFile },
          confirmNewKey: async (key) => ((shown = key), true),
          onStep: (step) => {
            if (step === 'resealed') throw new Error('crash before commit');
          },
        }),
      ).rejects.toThrow('crash before commit');
      await expect(start({ key: shown, keyFile })).rejects.toThrow(/did not commit: use the previous key, then run the rotation again/);
      expect(await passwordsWith((await start({ key: oldKey, keyFile })).key)).toEqual({ one: 'password-one', two: 'password-two' });
    });
  });
});
