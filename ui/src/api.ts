/**
 * The one way the dashboard talks to the service: same origin, the session
 * cookie (never a token in scripts), the CSRF token on every state-changing
 * call, and API errors turned into one error type with Tacker's message.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = '',
  ) {
    super(message);
  }
}

let csrfToken = '';
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when a data call answers 401: the session expired or was revoked. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== '') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const tacker = (json as { TackerError?: { type?: string; message?: string } } | undefined)?.TackerError;
    const error = new ApiError(response.status, tacker?.message ?? `${response.status} ${response.statusText}`, tacker?.type ?? '');
    if (response.status === 401 && !path.startsWith('/ui/session')) for (const listener of unauthorizedListeners) listener();
    throw error;
  }
  return json as T;
}

/** A query string with repeated keys (`fields=a&fields=b`), as the Tacker list API takes them. */
export function query(params: Record<string, string | number | boolean | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
