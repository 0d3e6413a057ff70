import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/support/databases.js';
import { openstackInput } from '../../test/support/fixtures.js';
import { SecretKeyError } from '../errors.js';
import { openStore, type Store } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { SecretRepository } from '../store/secret-repository.js';
import { VimRepository } from '../store/vim-repository.js';
import { systemClock } from '../time/clock.js';
import { VimRegistry } from '../vims/registry.js';
import { keyIdOf, SecretCipher } from './cipher.js';
import { guardSecretKey } from './key-guard.js';

const admin = { projectId: 'admin-project', userId: 'root', isAdmin: true };

describe.each(DIALECTS)('the secret key guard at start-up on %s', (dialect) => {
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
    dir = mkdtempSync(join(tmpdir(), 'vim-monitor-guard-'));
    keyFile = join(dir, 'secret.key');
  });
  afterEach(async () => {
    // Each test starts from an empty database.
    await store.db.deleteFrom('vims').execute();
    await store.db.deleteFrom('subscriptions').execute();
    await store.db.deleteFrom('secret_key_check').execute();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const guard = (settings: { key?: string; keyFile: string }) => guardSecretKey(settings, new SecretRepository(store), systemClock);
  const snapshot = async () => ({
    check: await store.db.selectFrom('secret_key_check').selectAll().execute(),
    vims: await store.db.selectFrom('vims').select(['id', 'auth_cred']).orderBy('id').execute(),
    subscriptions: await store.db.selectFrom('subscriptions').select(['id', 'secret']).orderBy('id').execute(),
  });
  async function refusal(settings: { key?: string; keyFile: string }): Promise<string> {
    const error = await guard(settings).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SecretKeyError);
    const message = (error as SecretKeyError).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  /** First start, then one VIM and one webhook secret sealed with its key. */
  async function seeded(): Promise<Buffer> {
    const { key } = await guard({ keyFile });
    const cipher = new SecretCipher(key);
    await new VimRegistry({ repository: new VimRepository(store), cipher, clock: systemClock }).create(admin, openstackInput('sealed'));
    await store.db
      .insertInto('subscriptions')
      .values({ id: 's1', kind: 'webhook', tenant_id: 't', callback_url: 'http://127.0.0.1:1/', secret: cipher.encrypt('hmac-secret-1234'), filter: '{}', created_at: '2026-01-01 00:00:00.000000', cursor_event_id: 0 })
      .execute();
    return key;
  }

  it('creates the key file on first start and stores its key id as the check', async () => {
    const opened = await guard({ keyFile });
    expect(opened.origin).toBe('created');
    expect(existsSync(keyFile)).toBe(true);
    expect((await snapshot()).check).toMatchObject([{ id: 1, key_id: keyIdOf(opened.key), pending_key_id: null }]);
    const again = await guard({ keyFile });
    expect(again).toMatchObject({ origin: 'file', keyId: opened.keyId });
  });

  it('refuses a missing key file when credentials are sealed, creating no key file and changing nothing', async () => {
    const key = await seeded();
    rmSync(keyFile);
    const before = await snapshot();
    const message = await refusal({ keyFile });
    expect(message).toBe(
      `secret key file ${keyFile} is missing, but the database's secrets are sealed with key ${keyIdOf(key)}: restore the key file from its backup (or set secrets.key); a new key would leave them unreadable`,
    );
    expect(existsSync(keyFile)).toBe(false);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a missing key file when only the key check is stored (every secret deleted)', async () => {
    await guard({ keyFile });
    rmSync(keyFile);
    expect(await refusal({ keyFile })).toMatch(/is missing, but the database's secrets are sealed with key [0-9a-f]{16}/);
    expect(existsSync(keyFile)).toBe(false);
  });

  it('refuses a different key file, naming both key ids and leaving the file as it is', async () => {
    const key = await seeded();
    const other = randomBytes(32).toString('base64');
    writeFileSync(keyFile, other + '\n');
    const before = await snapshot();
    expect(await refusal({ keyFile })).toBe(
      `secret key file ${keyFile} holds key ${keyIdOf(Buffer.from(other, 'base64'))}, but the database's secrets are sealed with key ${keyIdOf(key)}: restore this database's key file (from its backup, or ${keyFile}.old after a rotation) or set secrets.key`,
    );
    expect(readFileSync(keyFile, 'utf8')).toBe(other + '\n');
    expect(await snapshot()).toEqual(before);
  });

  it('ignores a half-written <key_file>.new left by a rotation that crashed before its commit', async () => {
    const key = await seeded();
    writeFileSync(`${keyFile}.new`, 'half-a-ke');
    expect((await guard({ keyFile })).keyId).toBe(keyIdOf(key));
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    expect(await refusal({ keyFile })).toMatch(/holds key [0-9a-f]{16}, but the database's secrets are sealed with key/);
  });

  it('leaves no scratch file beside a key file it creates', async () => {
    await guard({ keyFile });
    expect(readdirSync(dir)).toEqual(['secret.key']);
  });

  it('refuses a different secrets.key and accepts the right one from the configuration', async () => {
    const key = await seeded();
    expect(await refusal({ key: randomBytes(32).toString('base64'), keyFile })).toMatch(/^secrets\.key is key [0-9a-f]{16}, but the database's secrets are sealed with key/);
    const opened = await guard({ key: key.toString('base64'), keyFile: join(dir, 'unused.key') });
    expect(opened).toMatchObject({ origin: 'config', keyId: keyIdOf(key) });
    expect(existsSync(join(dir, 'unused.key'))).toBe(false);
  });

  it('lets an upgraded database without a key check adopt the key that opens its secrets', async () => {
    const key = await seeded();
    await store.db.deleteFrom('secret_key_check').execute();
    const opened = await guard({ keyFile });
    expect(opened).toMatchObject({ adopted: true, keyId: keyIdOf(key) });
    expect((await snapshot()).check).toMatchObject([{ key_id: keyIdOf(key) }]);
  });

  it('refuses an upgraded database whose secrets the key does not open, or whose key file is gone, storing no check', async () => {
    await seeded();
    await store.db.deleteFrom('secret_key_check').execute();
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    expect(await refusal({ keyFile })).toMatch(/does not open 2 of the 2 sealed secrets in the database: restore the key they were sealed with/);
    rmSync(keyFile);
    expect(await refusal({ keyFile })).toMatch(/is missing, but the database holds 2 sealed secrets/);
    expect(existsSync(keyFile)).toBe(false);
    expect((await snapshot()).check).toEqual([]);
  });
});
