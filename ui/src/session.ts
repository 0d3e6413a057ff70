import { api, ApiError, setCsrfToken } from './api';
import type { Session } from './types';

/** Under noauth (or a service without the session routes) the dashboard opens directly. */
const NOAUTH: Session = { strategy: 'noauth', user_name: 'noauth', csrf_token: '' };

/** The current session; null when a login is needed. */
export async function currentSession(): Promise<Session | null> {
  try {
    const { session } = await api<{ session: Session }>('GET', '/ui/session');
    setCsrfToken(session.csrf_token);
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    if (error instanceof ApiError && error.status === 404) return NOAUTH;
    throw error;
  }
}

export interface Credentials {
  username: string;
  password: string;
  project: string;
  user_domain?: string;
  project_domain?: string;
}

export async function login(credentials: Credentials): Promise<Session> {
  const { session } = await api<{ session: Session }>('POST', '/ui/session', credentials);
  setCsrfToken(session.csrf_token);
  return session;
}

export async function logout(): Promise<void> {
  try {
    await api<void>('DELETE', '/ui/session');
  } finally {
    setCsrfToken('');
  }
}
