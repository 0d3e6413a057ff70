import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { SessionAuthenticator } from '../auth/authenticator.js';
import type { KeystoneAuthenticator } from '../auth/keystone.js';
import type { KeystoneClient, PasswordCredentials } from '../auth/keystone-client.js';
import { tenantScope } from '../auth/visibility.js';
import { ForbiddenError, NotAuthenticatedError } from '../errors.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { SessionRepository, StoredSession } from '../store/session-repository.js';
import type { Clock } from '../time/clock.js';
import type { RequestContext } from '../vims/model.js';

/** What the dashboard may know of its session: never the Keystone token. */
export interface SessionView {
  userName: string;
  projectName: string;
  projectId: string;
  /** An administrator of every tenant (the visibility rule of auth/visibility.ts). */
  administrator: boolean;
  csrfToken: string;
  expiresAt: Date;
}

export interface OpenedSession {
  /** The cookie's value: 32 random bytes, base64url. Stored only as its SHA-256. */
  id: string;
  view: SessionView;
}

export interface DashboardSessionsDeps {
  repository: SessionRepository;
  cipher: SecretCipher;
  keystone: KeystoneClient;
  /** Validates (and caches) the session's token exactly as an X-Auth-Token is validated. */
  authenticator: Pick<KeystoneAuthenticator, 'authenticate' | 'forget'>;
  clock: Clock;
  /** ui.session_ttl in ms; a session also ends when its token expires. */
  ttlMs: number;
  logger: Logger;
}

/** Methods that change nothing and so need no CSRF token. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/**
 * Expired rows deleted at each login. Only logins add rows, so deleting up to
 * this many at each keeps the table at the live sessions plus a few stale ones.
 */
const PRUNE_BATCH = 100;
const ID_BYTES = 32;

const ENDED = 'The dashboard session has expired or ended; log in again';

/**
 * The dashboard's server-side login under `auth.strategy: keystone`: a
 * username and password become a project-scoped Keystone token that stays on
 * the server (sealed in ui_sessions); the browser holds a random session id
 * in an HttpOnly cookie and a CSRF token for requests that change something.
 */
export class DashboardSessions implements SessionAuthenticator {
  constructor(private readonly deps: DashboardSessionsDeps) {}

  /** Logs in at Keystone; a refused login is a 401 that names no credential. */
  async login(credentials: PasswordCredentials): Promise<OpenedSession> {
    const { keystone, repository, cipher, clock, logger } = this.deps;
    const issued = await keystone.login(credentials);
    if (!issued) throw new NotAuthenticatedError('Login failed: wrong user name, password, project or domain');
    let context: RequestContext;
    try {
      // The same validation as every later request: the session starts with the rights the API would give the token.
      context = await this.deps.authenticator.authenticate({ 'x-auth-token': issued.token });
    } catch (error) {
      await this.revokeQuietly(issued.token);
      throw error;
    }
    const nowMs = clock.now().getTime();
    const id = randomBytes(ID_BYTES).toString('base64url');
    const session: StoredSession = {
      idHash: hashOf(id),
      csrfToken: randomBytes(ID_BYTES).toString('base64url'),
      sealedToken: cipher.encrypt(issued.token),
      userId: issued.userId,
      userName: issued.userName,
      projectId: issued.projectId,
      projectName: issued.projectName,
      roles: issued.roles,
      createdAtMs: nowMs,
      expiresAtMs: Math.min(issued.expiresAt.getTime(), nowMs + this.deps.ttlMs),
    };
    try {
      await repository.deleteExpired(nowMs, PRUNE_BATCH);
      await repository.create(session);
    } catch (error) {
      // Nobody will ever hold this token: do not leave it valid in Keystone.
      await this.revokeQuietly(issued.token);
      throw error;
    }
    logger.info(
      { user_id: session.userId, user_name: session.userName, project_id: session.projectId, expires_at: new Date(session.expiresAtMs).toISOString() },
      'dashboard session opened',
    );
    return { id, view: viewOf(session, context) };
  }

  /** The session behind a cookie, its token checked with Keystone (through the cache). */
  async current(sessionId: string): Promise<SessionView> {
    const session = await this.find(sessionId);
    return viewOf(session, await this.contextOf(session));
  }

  async authenticate(sessionId: string, method: string, csrfToken: string | undefined): Promise<RequestContext> {
    const session = await this.find(sessionId);
    if (!SAFE_METHODS.has(method.toUpperCase())) checkCsrf(session, csrfToken);
    return this.contextOf(session);
  }

  /**
   * Ends the session: the row goes first (the cookie stops working whatever
   * Keystone answers), then the token is revoked. A revocation that fails is
   * logged: the token then lives until Keystone expires it, held by nobody.
   */
  async logout(sessionId: string, csrfToken: string | undefined): Promise<void> {
    const session = await this.find(sessionId);
    checkCsrf(session, csrfToken);
    await this.deps.repository.delete(session.idHash);
    const token = this.unseal(session);
    if (token !== undefined) {
      this.deps.authenticator.forget(token);
      await this.revokeQuietly(token);
    }
    this.deps.logger.info({ user_id: session.userId, user_name: session.userName, project_id: session.projectId }, 'dashboard session closed');
  }

  private async find(sessionId: string): Promise<StoredSession> {
    const session = await this.deps.repository.find(hashOf(sessionId), this.deps.clock.now().getTime());
    if (!session) throw new NotAuthenticatedError(ENDED);
    return session;
  }

  /** The caller the session's token stands for; a token Keystone no longer accepts ends the session. */
  private async contextOf(session: StoredSession): Promise<RequestContext> {
    const token = this.unseal(session);
    if (token !== undefined) {
      try {
        return await this.deps.authenticator.authenticate({ 'x-auth-token': token });
      } catch (error) {
        if (!(error instanceof NotAuthenticatedError)) throw error;
      }
    }
    await this.deps.repository.delete(session.idHash);
    throw new NotAuthenticatedError(ENDED);
  }

  /** undefined when the stored envelope does not open (tampered row): the session is then as good as ended. */
  private unseal(session: StoredSession): string | undefined {
    try {
      return this.deps.cipher.decrypt(session.sealedToken);
    } catch (error) {
      this.deps.logger.warn({ err: error, user_id: session.userId }, 'the sealed token of a dashboard session does not open: session ended');
      return undefined;
    }
  }

  private async revokeQuietly(token: string): Promise<void> {
    try {
      await this.deps.keystone.revoke(token);
    } catch (error) {
      // The error names Keystone's status or the connection failure, never the token.
      this.deps.logger.warn({ err: error }, 'could not revoke the Keystone token of a dashboard session: it stays valid until it expires, held by nobody');
    }
  }
}

/** SHA-256 of a session id, hex: what ui_sessions.id_hash holds. */
export function hashOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

/** Constant-time comparison; hashing first makes the lengths equal without telling them. */
function checkCsrf(session: StoredSession, given: string | undefined): void {
  const expected = createHash('sha256').update(session.csrfToken).digest();
  const actual = createHash('sha256').update(given ?? '').digest();
  if (given === undefined || !timingSafeEqual(expected, actual)) {
    throw new ForbiddenError('This request needs the X-CSRF-Token header of the dashboard session (GET /ui/session)');
  }
}

function viewOf(session: StoredSession, context: RequestContext): SessionView {
  return {
    userName: session.userName,
    projectName: session.projectName,
    projectId: session.projectId,
    administrator: tenantScope(context).all,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAtMs),
  };
}
