/**
 * A real OpenStack Keystone for tests, and the real `openstack` CLI
 * (python-openstackclient + python-tackerclient) to drive our service with.
 *
 * Each startKeystone() makes a temporary directory holding keystone.conf, a
 * SQLite database, Fernet and credential keys and the logs, runs
 * `keystone-manage db_sync / fernet_setup / credential_setup / bootstrap`,
 * serves Keystone's public WSGI application on 127.0.0.1:<free port> with
 * test/support/keystone/keystone_server.py, and creates the projects, users
 * and roles below through Keystone's REST API.
 *
 *   admin    project admin    role admin   (cloud admin, made by bootstrap)
 *   tacker   project service  roles admin, service (what vim-monitor validates tokens with)
 *   alice    project nfv      role member
 *   bob      project other    role member
 *
 * Needs the Debian packages python3-keystone, python3-openstackclient and
 * python3-tackerclient (run by /usr/bin/python3, never a pyenv/venv python).
 * Environment knobs: KEYSTONE_PYTHON (default /usr/bin/python3),
 * KEYSTONE_MANAGE, OPENSTACK_CLI (paths), KEYSTONE_FIXTURE_KEEP=1 (keep the
 * temporary directory after stop() for debugging), KEYSTONE_FIXTURE_MANAGE=separate
 * (run each keystone-manage command as its own process, ~5 s slower, instead of
 * all four in one Python process through keystone-manage's own entry point).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/schema.js';
import { FixtureDirs, spawnRunner, type RunnerProcess } from './runner-process.js';

export const KEYSTONE_INSTALL_HINT =
  'install Debian packages python3-keystone python3-tackerclient python3-openstackclient (see .ci/run)';

const SUPPORT_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'keystone');
const SERVER_SCRIPT = path.join(SUPPORT_DIR, 'keystone_server.py');
const MANAGE_SCRIPT = path.join(SUPPORT_DIR, 'keystone_manage.py');
const CONF_TEMPLATE = path.join(SUPPORT_DIR, 'keystone.conf.template');

export const REGION = 'RegionOne';
export const NFVO_SERVICE_TYPE = 'nfv-orchestration';

export interface KeystoneUser {
  username: string;
  password: string;
  project: string;
  domain: 'Default';
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TokenInfo {
  token: string;
  expiresAt: string;
  userId: string;
  /** undefined for an unscoped token */
  projectId: string | undefined;
  roles: string[];
}

export interface CliOptions {
  /** written to the CLI's standard input */
  input?: string;
  /** default 90 s; the process is killed (SIGKILL) when it runs longer */
  timeoutMs?: number;
  /** extra environment variables (applied after cliEnv(user)) */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface KeystoneFixture {
  /** identity v3 URL, e.g. http://127.0.0.1:41234/v3 */
  url: string;
  /** http://127.0.0.1:<port> without path */
  baseUrl: string;
  port: number;
  /** the temporary directory (keystone.conf, keystone.db, keys, logs) */
  dir: string;
  /** milliseconds startKeystone() took */
  startupMs: number;
  /** milliseconds since start at which each startup phase ended */
  startupPhases: Record<string, number>;
  admin: KeystoneUser;
  service: KeystoneUser;
  member: KeystoneUser;
  otherMember: KeystoneUser;

  projectId(name: string): Promise<string>;
  userId(username: string): Promise<string>;
  /**
   * Creates (once) the service type 'nfv-orchestration' named 'tacker' and
   * replaces its endpoints by public, internal and admin endpoints at `url`
   * in RegionOne.
   */
  registerNfvoEndpoint(url: string): Promise<void>;
  /** Deletes the 'nfv-orchestration' service and its endpoints (if any). */
  unregisterNfvoEndpoint(): Promise<void>;
  /** A project-scoped token for the user (its own project). */
  issueToken(user: KeystoneUser): Promise<string>;
  /** Token plus what Keystone said about it; scope 'unscoped' gives an unscoped token. */
  authenticate(user: KeystoneUser, scope?: 'project' | 'unscoped'): Promise<TokenInfo>;
  revokeToken(token: string): Promise<void>;
  /** Creates a user (and its project if missing) with the given roles (default member) on that project. */
  createUser(username: string, project: string, roles?: string[], password?: string): Promise<KeystoneUser>;
  /**
   * Sets a new password (as admin). Returns a copy of the user with the new
   * password; the object passed in and the fixture's own users are left alone.
   * Keystone revokes the user's existing tokens when its password changes.
   * Returns only once a new token would be valid (Keystone compares
   * revocation times in whole seconds, so this waits up to ~1 s).
   */
  changePassword(user: KeystoneUser, newPassword: string): Promise<KeystoneUser>;
  /** Disabling revokes the user's tokens; like changePassword, waits for the next second. */
  setUserEnabled(user: KeystoneUser, enabled: boolean): Promise<void>;
  deleteUser(user: KeystoneUser): Promise<void>;
  /** Admin call to Keystone's REST API (path relative to /v3, e.g. '/regions'). */
  adminRequest(method: string, apiPath: string, body?: unknown): Promise<unknown>;
  /** Environment for running `openstack` as this user (no other OS_* or proxy variables). */
  cliEnv(user: KeystoneUser): NodeJS.ProcessEnv;
  runCli(user: KeystoneUser, args: string[], opts?: CliOptions): Promise<CliResult>;
  /** Last lines of Keystone's log and of the test server's request log. */
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface StartKeystoneOptions {
  /** roles of the service user 'tacker' on project 'service' (default ['admin', 'service']) */
  serviceRoles?: string[];
  /** ms to wait for the whole startup (default 90 s) */
  timeoutMs?: number;
  /**
   * Keystone's [security_compliance] password_expires_days: every password
   * set (the fixture's users included) expires this many days later, and
   * tokens then carry the user's password_expires_at.
   */
  passwordExpiresDays?: number;
}

// ---------------------------------------------------------------------------
// tools

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findExecutable(name: string, override: string | undefined): string | undefined {
  if (override) return isExecutable(override) ? override : undefined;
  // Debian's scripts first: a pyenv/venv shim earlier in PATH has no keystone.
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(path.delimiter)]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function keystonePython(): string {
  return process.env.KEYSTONE_PYTHON ?? '/usr/bin/python3';
}

/** Path of the `openstack` CLI, or undefined when it is not installed. */
export function openstackCliPath(): string | undefined {
  return findExecutable('openstack', process.env.OPENSTACK_CLI);
}

function keystoneManagePath(): string | undefined {
  return findExecutable('keystone-manage', process.env.KEYSTONE_MANAGE);
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

function run(command: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({ code: 127, stdout: '', stderr: `cannot run ${command}: ${String(err)}` });
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 90_000);
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => errOut.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: `cannot run ${command}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let stderr = Buffer.concat(errOut).toString('utf8');
      if (timedOut) stderr += `\n[killed after ${opts.timeoutMs ?? 90_000} ms]`;
      resolve({
        code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
      });
    });
    child.stdin?.on('error', () => undefined); // EPIPE when the process exits early
    child.stdin?.end(opts.input ?? '');
  });
}

function tail(text: string, lines: number): string {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
}

async function readTail(file: string, lines: number): Promise<string> {
  try {
    return tail(await readFile(file, 'utf8'), lines);
  } catch {
    return '(no file)';
  }
}

// ---------------------------------------------------------------------------
// JSON helpers (Keystone answers are unknown until checked)

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function stringField(value: unknown, key: string, what: string): string {
  const v = field(value, key);
  if (typeof v !== 'string') throw new Error(`Keystone answer without ${what}.${key}: ${JSON.stringify(value)}`);
  return v;
}

function listField(value: unknown, key: string): unknown[] {
  const v = field(value, key);
  if (!Array.isArray(v)) throw new Error(`Keystone answer without list ${key}: ${JSON.stringify(value)}`);
  return v;
}

// ---------------------------------------------------------------------------
// the Keystone process

const DIR_PREFIX = 'vim-monitor-keystone-';
const liveDirs = new FixtureDirs('KEYSTONE_FIXTURE_KEEP');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the directories of earlier fixtures whose test process was killed (no stop(), no exit hook). */
async function sweepStaleDirs(): Promise<void> {
  const tmp = os.tmpdir();
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, name);
    try {
      const owner = Number((await readFile(path.join(dir, 'owner.pid'), 'utf8')).trim());
      if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
      if (await stat(path.join(dir, 'keep')).then(() => true, () => false)) continue;
      await rm(dir, { recursive: true, force: true });
    } catch {
      // not ours, or being created right now
    }
  }
}
function spawnServer(confFile: string, dbFile: string, logFile: string, timeoutMs: number): Promise<RunnerProcess> {
  return spawnRunner({
    label: 'Keystone',
    python: keystonePython(),
    args: [SERVER_SCRIPT, '--config-file', confFile, '--sqlite-db', dbFile, '--host', '127.0.0.1', '--port', '0', '--wait-for-go', '--exit-on-eof'],
    env: process.env,
    logFile,
    timeoutMs,
  });
}

/**
 * Keystone compares revocation events with token issue times in whole
 * seconds: a token issued in the same second as a password change or a
 * disable is born revoked. Waiting for the next second avoids that.
 */
function nextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1_050 - (Date.now() % 1_000)));
}

function secret(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url')}`;
}

/** Keystone's REST API, as a given token. */
async function keystoneCall(
  baseUrl: string,
  method: string,
  apiPath: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers['x-auth-token'] = opts.token;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${baseUrl}/v3${apiPath}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  }
  return { status: res.status, headers: res.headers, json };
}

function passwordAuthBody(user: KeystoneUser, scope: 'project' | 'unscoped'): unknown {
  const identity = {
    methods: ['password'],
    password: { user: { name: user.username, domain: { name: user.domain }, password: user.password } },
  };
  if (scope === 'unscoped') return { auth: { identity } };
  return { auth: { identity, scope: { project: { name: user.project, domain: { name: user.domain } } } } };
}

const PROXY_VARS = ['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'];

/** Environment for `openstack` as `user` against the Keystone at `authUrl`. */
export function openstackCliEnv(authUrl: string, user: KeystoneUser): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OS_') || PROXY_VARS.includes(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    // Everything we talk to is on loopback: never through a proxy.
    NO_PROXY: '*',
    no_proxy: '*',
    PYTHONWARNINGS: 'ignore',
    OS_AUTH_TYPE: 'password',
    OS_AUTH_URL: authUrl,
    OS_IDENTITY_API_VERSION: '3',
    OS_USERNAME: user.username,
    OS_PASSWORD: user.password,
    OS_PROJECT_NAME: user.project,
    OS_USER_DOMAIN_NAME: user.domain,
    OS_PROJECT_DOMAIN_NAME: user.domain,
    OS_REGION_NAME: REGION,
    OS_INTERFACE: 'public',
  };
}

export async function startKeystone(options: StartKeystoneOptions = {}): Promise<KeystoneFixture> {
  const started = Date.now();
  const phases: Record<string, number> = {};
  const phase = (name: string): void => {
    phases[name] = Date.now() - started;
  };
  const timeoutMs = options.timeoutMs ?? 90_000;

  const manage = keystoneManagePath();
  if (!manage) throw new Error(`Keystone test fixture: keystone-manage not found; ${KEYSTONE_INSTALL_HINT}`);
  if (!isExecutable(keystonePython())) {
    throw new Error(`Keystone test fixture: ${keystonePython()} not found; ${KEYSTONE_INSTALL_HINT}`);
  }

  await sweepStaleDirs();
  const dir = await mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  liveDirs.remember(dir);
  await writeFile(path.join(dir, 'owner.pid'), `${process.pid}\n`);
  if (process.env.KEYSTONE_FIXTURE_KEEP === '1') await writeFile(path.join(dir, 'keep'), '');
  const confFile = path.join(dir, 'keystone.conf');
  const keystoneLog = path.join(dir, 'keystone.log');
  const serverLog = path.join(dir, 'server.log');
  const manageLog = path.join(dir, 'keystone-manage.log');
  const template = await readFile(CONF_TEMPLATE, 'utf8');
  const compliance = options.passwordExpiresDays !== undefined ? `\n[security_compliance]\npassword_expires_days = ${options.passwordExpiresDays}\n` : '';
  await writeFile(confFile, `${template.replaceAll('@DIR@', dir)}${compliance}`, { mode: 0o600 });
  await mkdir(path.join(dir, 'fernet-keys'), { mode: 0o700 });
  await mkdir(path.join(dir, 'credential-keys'), { mode: 0o700 });

  const logTail = async (lines = 60): Promise<string> =>
    [
      `--- ${manageLog} ---`,
      await readTail(manageLog, lines),
      `--- ${keystoneLog} ---`,
      await readTail(keystoneLog, lines),
      `--- ${serverLog} ---`,
      await readTail(serverLog, lines),
    ].join('\n');

  let server: RunnerProcess | undefined;
  const fail = async (message: string): Promise<never> => {
    const logs = await logTail(40);
    if (server) await server.stop();
    if (process.env.KEYSTONE_FIXTURE_KEEP !== '1') {
      await rm(dir, { recursive: true, force: true });
      liveDirs.forget(dir);
    }
    throw new Error(`${message}\n${logs}`);
  };

  /** Runs keystone-manage commands: in one Python process by default, or one process each. */
  const keystoneManage = async (commands: string[][], env: NodeJS.ProcessEnv): Promise<void> => {
    const runOne = async (label: string, command: string, args: string[]): Promise<CliResult & { label: string }> => {
      const res = await run(command, args, { timeoutMs, env: { ...process.env, ...env } });
      await writeFile(manageLog, `$ ${label}\n${res.stdout}${res.stderr}\n`, { flag: 'a' });
      return { ...res, label };
    };
    let results: Array<CliResult & { label: string }>;
    if (process.env.KEYSTONE_FIXTURE_MANAGE === 'separate') {
      results = [];
      for (const args of commands) {
        const res = await runOne(`keystone-manage ${args.join(' ')}`, manage, ['--config-file', confFile, ...args]);
        results.push(res);
        if (res.code !== 0) break;
      }
    } else {
      const label = `keystone_manage.py ${commands.map((c) => c[0]).join(', ')}`;
      results = [await runOne(label, keystonePython(), [MANAGE_SCRIPT, confFile, ...commands.map((c) => c.join(' '))])];
    }
    const bad = results.find((r) => r.code !== 0);
    if (!bad) return;
    const hint = /No module named|ImportError|cannot run/.test(bad.stderr)
      ? `; ${KEYSTONE_INSTALL_HINT}`
      : process.env.KEYSTONE_FIXTURE_MANAGE === 'separate'
        ? ''
        : ' (KEYSTONE_FIXTURE_MANAGE=separate runs each command as its own keystone-manage process)';
    await fail(`${bad.label} failed with code ${bad.code}${hint}\n${tail(bad.stderr, 30)}`);
  };

  // The server binds its port and imports Keystone while the database is
  // migrated and bootstrapped; it builds the application on "go".
  try {
    server = await spawnServer(confFile, path.join(dir, 'keystone.db'), serverLog, timeoutMs);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const logs = await readTail(serverLog, 30);
    const hint = /No module named|ENOENT/.test(logs + detail) ? `; ${KEYSTONE_INSTALL_HINT}` : '';
    await rm(dir, { recursive: true, force: true });
    liveDirs.forget(dir);
    throw new Error(`Keystone test fixture: ${detail}${hint}\n${logs}`);
  }
  const port = server.port;
  phase('port');
  const baseUrl = `http://127.0.0.1:${port}`;
  const url = `${baseUrl}/v3`;

  const admin: KeystoneUser = { username: 'admin', password: secret('admin'), project: 'admin', domain: 'Default' };
  const service: KeystoneUser = { username: 'tacker', password: secret('tacker'), project: 'service', domain: 'Default' };
  const member: KeystoneUser = { username: 'alice', password: secret('alice'), project: 'nfv', domain: 'Default' };
  const otherMember: KeystoneUser = { username: 'bob', password: secret('bob'), project: 'other', domain: 'Default' };

  // Keys belong to whoever runs the tests (uid/gid 0: keystone-manage skips the chown).
  const owner = ['--keystone-user', String(os.userInfo().uid), '--keystone-group', String(os.userInfo().gid)];
  await keystoneManage(
    [
      ['fernet_setup', ...owner],
      ['credential_setup', ...owner],
      ['db_sync'],
      [
        'bootstrap',
        '--bootstrap-username', admin.username,
        '--bootstrap-project-name', admin.project,
        '--bootstrap-role-name', 'admin',
        '--bootstrap-service-name', 'keystone',
        '--bootstrap-region-id', REGION,
        '--bootstrap-admin-url', url,
        '--bootstrap-internal-url', url,
        '--bootstrap-public-url', url,
      ],
    ],
    { OS_BOOTSTRAP_PASSWORD: admin.password },
  );
  phase('bootstrap');

  server.go();
  try {
    await server.waitReady(Math.max(1_000, timeoutMs - (Date.now() - started)));
    const probe = await keystoneCall(baseUrl, 'GET', '');
    if (probe.status !== 200) throw new Error(`GET ${url} answered ${probe.status}`);
    phase('ready');
  } catch (err) {
    await fail(`Keystone test server did not come up: ${err instanceof Error ? err.message : String(err)}`);
  }

  // --- admin session and the test identities --------------------------------
  let adminToken: Promise<string> | undefined;
  const adminTokenNow = (renew = false): Promise<string> => {
    if (!adminToken || renew) {
      const p = issue(admin, 'project').then((t) => t.token);
      p.catch(() => {
        if (adminToken === p) adminToken = undefined;
      });
      adminToken = p;
    }
    return adminToken;
  };
  const issue = async (user: KeystoneUser, scope: 'project' | 'unscoped'): Promise<TokenInfo> => {
    const res = await keystoneCall(baseUrl, 'POST', '/auth/tokens', { body: passwordAuthBody(user, scope) });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token) {
      throw new Error(`Keystone refused a token to ${user.username}: ${res.status} ${JSON.stringify(res.json)}`);
    }
    const t = field(res.json, 'token');
    const roles = field(t, 'roles');
    return {
      token,
      expiresAt: stringField(t, 'expires_at', 'token'),
      userId: stringField(field(t, 'user'), 'id', 'token.user'),
      projectId: scope === 'project' ? stringField(field(t, 'project'), 'id', 'token.project') : undefined,
      roles: Array.isArray(roles) ? roles.map((r) => String(field(r, 'name'))) : [],
    };
  };

  const adminRequest = async (method: string, apiPath: string, body?: unknown): Promise<unknown> => {
    let res = await keystoneCall(baseUrl, method, apiPath, { token: await adminTokenNow(), body });
    if (res.status === 401) {
      res = await keystoneCall(baseUrl, method, apiPath, { token: await adminTokenNow(true), body });
    }
    if (res.status >= 300) {
      throw new Error(`Keystone ${method} ${apiPath} answered ${res.status}: ${JSON.stringify(res.json)}`);
    }
    return res.json;
  };

  const projectIds = new Map<string, string>();
  const userIds = new Map<string, string>();
  const roleIds = new Map<string, string>();

  const findOne = async (collection: string, query: string): Promise<string | undefined> => {
    const list = listField(await adminRequest('GET', `/${collection}?${query}`), collection);
    const first = list[0];
    return first === undefined ? undefined : stringField(first, 'id', collection);
  };

  const projectId = async (name: string): Promise<string> => {
    const known = projectIds.get(name);
    if (known) return known;
    const id = await findOne('projects', `name=${encodeURIComponent(name)}&domain_id=default`);
    if (!id) throw new Error(`Keystone has no project ${name}`);
    projectIds.set(name, id);
    return id;
  };
  const userId = async (username: string): Promise<string> => {
    const known = userIds.get(username);
    if (known) return known;
    const id = await findOne('users', `name=${encodeURIComponent(username)}&domain_id=default`);
    if (!id) throw new Error(`Keystone has no user ${username}`);
    userIds.set(username, id);
    return id;
  };
  const roleId = async (name: string): Promise<string> => {
    const known = roleIds.get(name);
    if (known) return known;
    let id = await findOne('roles', `name=${encodeURIComponent(name)}`);
    if (!id) id = stringField(field(await adminRequest('POST', '/roles', { role: { name } }), 'role'), 'id', 'role');
    roleIds.set(name, id);
    return id;
  };
  const ensureProject = async (name: string): Promise<string> => {
    try {
      return await projectId(name);
    } catch {
      const created = await adminRequest('POST', '/projects', {
        project: { name, domain_id: 'default', enabled: true, description: `test project ${name}` },
      });
      const id = stringField(field(created, 'project'), 'id', 'project');
      projectIds.set(name, id);
      return id;
    }
  };

  const createUser = async (
    username: string,
    project: string,
    roles: string[] = ['member'],
    password: string = secret(username),
  ): Promise<KeystoneUser> => {
    const user: KeystoneUser = { username, password, project, domain: 'Default' };
    const [pid, ...rids] = await Promise.all([ensureProject(project), ...roles.map(roleId)]);
    const created = await adminRequest('POST', '/users', {
      user: { name: username, password: user.password, domain_id: 'default', default_project_id: pid, enabled: true },
    });
    const uid = stringField(field(created, 'user'), 'id', 'user');
    userIds.set(username, uid);
    for (const rid of rids) await adminRequest('PUT', `/projects/${pid}/users/${uid}/roles/${rid}`);
    return user;
  };

  try {
    await Promise.all([
      createUser(service.username, service.project, options.serviceRoles ?? ['admin', 'service'], service.password),
      createUser(member.username, member.project, ['member'], member.password),
      createUser(otherMember.username, otherMember.project, ['member'], otherMember.password),
    ]);
  } catch (err) {
    await fail(`Keystone test fixture: creating test users failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  // --- the nfv-orchestration service in the catalog -------------------------
  const nfvoServiceId = async (create: boolean): Promise<string | undefined> => {
    const id = await findOne('services', `type=${NFVO_SERVICE_TYPE}`);
    if (id || !create) return id;
    const created = await adminRequest('POST', '/services', {
      service: { type: NFVO_SERVICE_TYPE, name: 'tacker', description: 'vim-monitor (Tacker v1.0 VIM API)', enabled: true },
    });
    return stringField(field(created, 'service'), 'id', 'service');
  };
  const deleteEndpoints = async (serviceId: string): Promise<void> => {
    const endpoints = listField(await adminRequest('GET', `/endpoints?service_id=${serviceId}`), 'endpoints');
    for (const e of endpoints) await adminRequest('DELETE', `/endpoints/${stringField(e, 'id', 'endpoint')}`);
  };

  let stopped = false;
  const fixture: KeystoneFixture = {
    url,
    baseUrl,
    port,
    dir,
    startupMs: 0,
    startupPhases: phases,
    admin,
    service,
    member,
    otherMember,
    projectId,
    userId,
    async registerNfvoEndpoint(endpointUrl: string): Promise<void> {
      const sid = await nfvoServiceId(true);
      if (!sid) throw new Error('could not create the nfv-orchestration service');
      await deleteEndpoints(sid);
      for (const iface of ['public', 'internal', 'admin']) {
        await adminRequest('POST', '/endpoints', {
          endpoint: { service_id: sid, interface: iface, url: endpointUrl, region_id: REGION, enabled: true },
        });
      }
    },
    async unregisterNfvoEndpoint(): Promise<void> {
      const sid = await nfvoServiceId(false);
      if (!sid) return;
      await deleteEndpoints(sid);
      await adminRequest('DELETE', `/services/${sid}`);
    },
    async issueToken(user: KeystoneUser): Promise<string> {
      return (await issue(user, 'project')).token;
    },
    authenticate: (user, scope = 'project') => issue(user, scope),
    async revokeToken(token: string): Promise<void> {
      const res = await keystoneCall(baseUrl, 'DELETE', '/auth/tokens', {
        token: await adminTokenNow(),
        headers: { 'x-subject-token': token },
      });
      if (res.status !== 204) throw new Error(`Keystone did not revoke the token: ${res.status} ${JSON.stringify(res.json)}`);
    },
    createUser,
    async changePassword(user: KeystoneUser, newPassword: string): Promise<KeystoneUser> {
      const uid = await userId(user.username);
      await adminRequest('PATCH', `/users/${uid}`, { user: { password: newPassword } });
      await nextSecond();
      return { ...user, password: newPassword };
    },
    async setUserEnabled(user: KeystoneUser, enabled: boolean): Promise<void> {
      const uid = await userId(user.username);
      await adminRequest('PATCH', `/users/${uid}`, { user: { enabled } });
      await nextSecond();
    },
    async deleteUser(user: KeystoneUser): Promise<void> {
      const uid = await userId(user.username);
      await adminRequest('DELETE', `/users/${uid}`);
      userIds.delete(user.username);
    },
    adminRequest,
    cliEnv: (user) => openstackCliEnv(url, user),
    async runCli(user: KeystoneUser, args: string[], opts: CliOptions = {}): Promise<CliResult> {
      const cli = openstackCliPath();
      if (!cli) throw new Error(`the openstack CLI is not installed; ${KEYSTONE_INSTALL_HINT}`);
      return run(cli, args, {
        env: { ...openstackCliEnv(url, user), ...opts.env },
        input: opts.input,
        timeoutMs: opts.timeoutMs ?? 90_000,
        cwd: opts.cwd,
      });
    },
    logTail,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await server?.stop();
      if (process.env.KEYSTONE_FIXTURE_KEEP !== '1') {
        await rm(dir, { recursive: true, force: true });
        liveDirs.forget(dir);
      }
    },
  };
  phase('users');
  fixture.startupMs = Date.now() - started;
  return fixture;
}

/** The service's `auth` section for this Keystone: its service user, a 1 s validation cache, `admin` as the admin role. */
export function keystoneAuthConfig(keystone: KeystoneFixture, extra: Partial<NonNullable<Config['auth']['keystone']>> = {}): Partial<Config['auth']> {
  return {
    strategy: 'keystone',
    keystone: {
      url: keystone.url,
      username: keystone.service.username,
      password: keystone.service.password,
      project_name: keystone.service.project,
      user_domain_name: 'Default',
      project_domain_name: 'Default',
      cache_ttl: 1,
      admin_roles: ['admin'],
      timeout: 10,
      ...extra,
    },
  };
}
