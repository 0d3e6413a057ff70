import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { headerValue } from '../auth/authenticator.js';
import { InvalidInputError, NotAuthenticatedError, NotFoundError } from '../errors.js';
import type { Clock } from '../time/clock.js';
import { clearSessionCookie, sessionIdOf, setSessionCookie, type SecureCookie } from './session-cookie.js';
import type { DashboardSessions, SessionView } from './sessions.js';

export interface SessionRouteOptions {
  /** Absent under `auth.strategy: noauth`: the dashboard needs no login. */
  sessions?: DashboardSessions;
  /** The tenant noauth acts for (auth.noauth.project_id), shown as the session's project. */
  noauthProjectId: string;
  secureCookie: SecureCookie;
  clock: Clock;
}

/** The session document of the contract (GET/POST /ui/session). */
export interface SessionDocument {
  session: {
    strategy: 'keystone' | 'noauth';
    user_name: string;
    project_name: string;
    project_id: string;
    is_admin: boolean;
    csrf_token: string;
    expires_at: string | null;
  };
}

interface LoginBody {
  username: string;
  password: string;
  project: string;
  user_domain?: string;
  project_domain?: string;
}

const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
const loginSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password', 'project'],
  properties: {
    username: name,
    password: { type: 'string', minLength: 1, maxLength: 4096 },
    project: name,
    user_domain: name,
    project_domain: name,
  },
} as const;

// The routes authenticate by the cookie themselves (public to the API's hook), and stay out of the OpenAPI document of the Tacker API.
const routeConfig = { config: { public: true } } as const;

/** GET, POST and DELETE /ui/session: the dashboard's login, its state, its logout. */
export async function sessionRoutes(app: FastifyInstance, options: SessionRouteOptions): Promise<void> {
  const { sessions, secureCookie, clock } = options;

  app.get('/ui/session', { ...routeConfig, schema: { hide: true } }, async (request, reply) => {
    noStore(reply);
    if (!sessions) return noauthDocument(options.noauthProjectId);
    const view = await withSession(request, reply, secureCookie, (id) => sessions.current(id));
    return documentOf(view);
  });

  app.post<{ Body: LoginBody }>('/ui/session', { ...routeConfig, schema: { hide: true, body: loginSchema } }, async (request, reply) => {
    noStore(reply);
    if (!sessions) throw new InvalidInputError('There is no login under auth.strategy noauth: the dashboard opens without one (GET /ui/session)');
    const body = request.body;
    const opened = await sessions.login({
      username: body.username,
      password: body.password,
      userDomain: body.user_domain ?? 'Default',
      project: body.project,
      projectDomain: body.project_domain ?? 'Default',
    });
    setSessionCookie(reply, opened.id, opened.view.expiresAt, secureCookie, clock.now());
    return reply.code(201).send(documentOf(opened.view));
  });

  app.delete('/ui/session', { ...routeConfig, schema: { hide: true } }, async (request, reply) => {
    noStore(reply);
    if (!sessions) throw new NotFoundError('dashboard session (there are none under auth.strategy noauth)');
    await withSession(request, reply, secureCookie, (id) => sessions.logout(id, headerValue(request.headers, 'x-csrf-token')));
    clearSessionCookie(reply, secureCookie);
    return reply.code(204).send();
  });
}

/** Runs `work` with the request's session id; no session, or one that has ended, clears the cookie and answers 401. */
async function withSession<T>(request: FastifyRequest, reply: FastifyReply, secure: SecureCookie, work: (id: string) => Promise<T>): Promise<T> {
  const id = sessionIdOf(request);
  try {
    if (id === undefined) throw new NotAuthenticatedError('Not logged in: POST /ui/session with username, password and project');
    return await work(id);
  } catch (error) {
    if (error instanceof NotAuthenticatedError && id !== undefined) clearSessionCookie(reply, secure);
    throw error;
  }
}

/** The session document carries the CSRF token: no cache may keep it. */
function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store');
}

function documentOf(view: SessionView): SessionDocument {
  return {
    session: {
      strategy: 'keystone',
      user_name: view.userName,
      project_name: view.projectName,
      project_id: view.projectId,
      is_admin: view.administrator,
      csrf_token: view.csrfToken,
      expires_at: isoSeconds(view.expiresAt),
    },
  };
}

function noauthDocument(projectId: string): SessionDocument {
  return {
    session: { strategy: 'noauth', user_name: 'noauth', project_name: projectId, project_id: projectId, is_admin: true, csrf_token: '', expires_at: null },
  };
}

/** ISO 8601 UTC to the second, as every time of the issue 12 API ("2026-12-01T10:00:00Z"). */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
