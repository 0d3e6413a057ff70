import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { login } from '../session';
import type { Session } from '../types';

/** Keystone credentials, exchanged for a session cookie by the service; the token never reaches this page. */
export function Login({ onLogin }: { onLogin: (session: Session) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    setBusy(true);
    setError('');
    try {
      const session = await login({
        username: text('username'),
        password: String(data.get('password') ?? ''),
        project: text('project'),
        ...(text('user_domain') && { user_domain: text('user_domain') }),
        ...(text('project_domain') && { project_domain: text('project_domain') }),
      });
      onLogin(session);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'Wrong user name, password or project.' : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title" aria-describedby={error ? 'login-error' : undefined}>
        <h1 id="login-title">
          Sign in to <span class="nowrap">vim-monitor</span>
        </h1>
        <label>
          User name
          <input name="username" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <label>
          Project
          <input name="project" required />
        </label>
        <details>
          <summary>Domains</summary>
          <label>
            User domain
            <input name="user_domain" placeholder="Default" />
          </label>
          <label>
            Project domain
            <input name="project_domain" placeholder="Default" />
          </label>
        </details>
        {error && (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
