import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { VimRepository } from '../../src/store/vim-repository.js';
import { SecretCipher } from '../../src/secrets/cipher.js';
import { systemClock } from '../../src/time/clock.js';
import { VimRegistry } from '../../src/vims/registry.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { openstackVim } from '../support/fixtures.js';

const DIST = join(process.cwd(), 'dist');
const CLI = join(DIST, 'cli', 'main.js');
const admin = { projectId: 'admin-project', userId: 'root', isAdmin: true };

/**
 * The built `vim-monitor` command (npm test builds dist/ first) with a lost,
 * wrong and rotated secret key, and rotations killed with SIGKILL between
 * their steps.
 */
describe.each(['sqlite', 'postgres'] as const)('the secret key through the vim-monitor command on %s', (dialect) => {
  const children: ChildProcess[] = [];
  let database: TestDatabase;
  let cwd: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    cwd = mkdtempSync(join(tmpdir(), 'vim-monitor-key-e2e-'));
    keyFile = join(cwd, 'data', 'secret.key');
    // No monitors: nothing is probed; the key handling is what is under test.
    writeFileSync(join(cwd, 'config.yaml'), 'manager:\n  enabled: false\n');
    env = { ...process.env, VIM_MONITOR_SERVER_PORT: '0', VIM_MONITOR_LOG_FORMAT: 'json', VIM_MONITOR_DATABASE_URL: database.url };
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
    await database.drop();
  });

  /** `serve` until it listens; returns its URL and a stop() that sends SIGTERM and expects exit 0. */
  async function serve(): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
    const child = spawn(process.execPath, [CLI, 'serve', '--config', 'config.yaml'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in: ${output}`)), 20_000);
      child.once('exit', () => reject(new Error(`serve exited: ${output}`)));
      child.stdout?.on('data', () => {
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*listening/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const stop = async (): Promise<void> => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    };
    return { url, output: () => output, stop };
  }

  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 20_000 });

  /** A VIM created over the API, then the service stopped. */
  async function firstStartWithVim(): Promise<void> {
    const service = await serve();
    expect(service.output()).toMatch(/created a new secret key file/);
    const response = await fetch(`${service.url}/v1.0/vims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ vim: openstackVim({ name: 'edge-1', auth_cred: { username: 'nfv_user', password: 'the-real-password', user_domain_name: 'Default' } }) }),
    });
    expect(response.status).toBe(201);
    await service.stop();
  }

  /** What an auth probe would send: the password read back through the registry with the key file's key. */
  async function storedState(): Promise<{ password: string | undefined; rows: unknown[] }> {
    const store = openStore(database.url, { poolSize: 1 });
    try {
      const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
      const registry = new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(key), clock: systemClock });
      const [vim] = await registry.list(admin, {});
      const rows = await store.db.selectFrom('vims').select(['id', 'auth_cred', 'revision', 'updated_at']).execute();
      return { password: vim ? registry.credentialsOf(vim).password : undefined, rows };
    } finally {
      await store.close();
    }
  }

  async function keyCheckRows(): Promise<unknown[]> {
    const store = openStore(database.url, { poolSize: 1 });
    try {
      return await store.db.selectFrom('secret_key_check').selectAll().execute();
    } finally {
      await store.close();
    }
  }

  it('refuses to start with a missing or wrong key file in one line, creates no key and changes nothing; rotate then re-seals', async () => {
    await firstStartWithVim();
    const key = readFileSync(keyFile, 'utf8');
    const before = await storedState();
    expect(before.password).toBe('the-real-password');

    rmSync(keyFile);
    const missing = run(['serve', '--config', 'config.yaml']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^vim-monitor: secret key file .*secret\.key is missing, but the database's secrets are sealed with key [0-9a-f]{16}: restore the key file from its backup/)]);
    expect(existsSync(keyFile)).toBe(false);
    // Read here, not before: the test must fail on the start-up above with the code before key checks.
    const checkBefore = await keyCheckRows();
    expect(checkBefore).toHaveLength(1);

    writeFileSync(keyFile, Buffer.alloc(32, 7).toString('base64'));
    const wrong = run(['serve', '--config', 'config.yaml']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^vim-monitor: secret key file .* holds key [0-9a-f]{16}, but the database's secrets are sealed with key/)]);
    expect(readFileSync(keyFile, 'utf8')).toBe(Buffer.alloc(32, 7).toString('base64'));

    writeFileSync(keyFile, key);
    expect((await storedState()).rows).toEqual(before.rows);
    expect(await keyCheckRows()).toEqual(checkBefore);

    const rotated = run(['secrets', 'rotate', '--config', 'config.yaml']);
    expect(rotated.stderr).toBe('');
    expect(rotated.stdout).toMatch(/^rotated: 1 VIM credentials, 0 webhook secrets and 0 dashboard sessions re-sealed, key [0-9a-f]{16} -> [0-9a-f]{16}; the key file .* holds it now/);
    expect(readFileSync(`${keyFile}.old`, 'utf8')).toBe(key);
    expect(readFileSync(keyFile, 'utf8')).not.toBe(key);
    expect((await storedState()).password).toBe('the-real-password');
    const service = await serve();
    await service.stop();
  }, 120_000);

  it.each(['new-key-stored', 'resealed', 'committed', 'promoted'])(
    'recovers from a rotation killed with SIGKILL after step %s: the next start serves, the password survives, a re-run rotates',
    async (step) => {
      await firstStartWithVim();
      const script = join(cwd, 'crashing-rotate.mjs');
      writeFileSync(
        script,
        `import { openStore } from ${JSON.stringify(join(DIST, 'store', 'database.js'))};
import { SecretRepository } from ${JSON.stringify(join(DIST, 'store', 'secret-repository.js'))};
import { rotateSecretKey } from ${JSON.stringify(join(DIST, 'secrets', 'rotate.js'))};
const [url, keyFile, step] = process.argv.slice(2);
const store = openStore(url, { poolSize: 1 });
await rotateSecretKey({
  settings: { keyFile }, secrets: new SecretRepository(store), clock: { now: () => new Date() },
  runningProcesses: async () => [], confirmNewKey: async () => false,
  onStep: (at) => { if (at === step) process.kill(process.pid, 'SIGKILL'); },
});
`,
      );
      const crashed = spawnSync(process.execPath, [script, database.url, keyFile, step], { cwd, encoding: 'utf8', timeout: 30_000 });
      expect(crashed.signal).toBe('SIGKILL');

      const service = await serve();
      if (step === 'committed') expect(service.output()).toMatch(/finished an interrupted key rotation/);
      await service.stop();
      expect((await storedState()).password).toBe('the-real-password');

      const rerun = run(['secrets', 'rotate', '--config', 'config.yaml']);
      expect(rerun.stdout).toMatch(/^rotated: 1 VIM credentials/);
      expect((await storedState()).password).toBe('the-real-password');
    },
    120_000,
  );

  it('rotates a secrets.key only after the operator types back the printed key id', async () => {
    const oldKey = Buffer.alloc(32, 1).toString('base64');
    env.VIM_MONITOR_SECRETS_KEY = oldKey;
    const service = await serve();
    await service.stop();

    const child = spawn(process.execPath, [CLI, 'secrets', 'rotate', '--config', 'config.yaml'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    const printed = new Promise<[string, string]>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /new secrets\.key \(key ([0-9a-f]{16})\): (\S+)\n/.exec(stdout);
        if (match?.[1] && match[2]) resolve([match[1], match[2]]);
      });
    });
    const [keyId, newKey] = await printed;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin?.end(`${keyId}\n`);
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/rotated: 0 VIM credentials, 0 webhook secrets and 0 dashboard sessions re-sealed, key [0-9a-f]{16} -> [0-9a-f]{16}; start vim-monitor with the new secrets.key/);

    expect(run(['serve', '--config', 'config.yaml']).stderr).toMatch(/^vim-monitor: secrets\.key is key [0-9a-f]{16}, but the database's secrets are sealed with key/);
    env.VIM_MONITOR_SECRETS_KEY = newKey;
    await (await serve()).stop();
    expect(existsSync(keyFile)).toBe(false);
  }, 120_000);
});

