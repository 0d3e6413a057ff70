import { useEffect, useState } from 'preact/hooks';
import { onUnauthorized } from './api';
import { useStore } from './components/use-store';
import { live, type LiveState } from './live';
import { href, useRoute } from './router';
import { currentSession, logout } from './session';
import type { Session } from './types';
import { vimList } from './vim-list';
import { EventsFeed } from './views/events';
import { Login } from './views/login';
import { Overview } from './views/overview';
import { VimPage } from './views/vim-page';
import { Workers } from './views/workers';

type SessionState = { state: 'checking' } | { state: 'login' } | { state: 'in'; session: Session } | { state: 'error'; message: string };

export function App() {
  const [session, setSession] = useState<SessionState>({ state: 'checking' });

  useEffect(() => {
    currentSession().then(
      (s) => setSession(s ? { state: 'in', session: s } : { state: 'login' }),
      (e: unknown) => setSession({ state: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
    return onUnauthorized(() => setSession({ state: 'login' }));
  }, []);

  // The stream and the list live as long as the session: one EventSource per page.
  useEffect(() => {
    if (session.state !== 'in') return;
    live.start();
    vimList.start();
    return () => {
      vimList.stop();
      live.stop();
    };
  }, [session.state]);

  if (session.state === 'checking') return <p class="loading" aria-busy="true">Loading…</p>;
  if (session.state === 'error') {
    return (
      <p class="error" role="alert">
        The service did not answer: {session.message}
      </p>
    );
  }
  if (session.state === 'login') return <Login onLogin={(s) => setSession({ state: 'in', session: s })} />;
  return <Shell session={session.session} onLogout={() => setSession({ state: 'login' })} />;
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const route = useRoute();
  const [liveState, setLiveState] = useState<LiveState>(live.state);
  useEffect(() => live.onState(setLiveState), []);
  const signOut = async () => {
    try {
      await logout();
    } finally {
      onLogout();
    }
  };
  const current = (view: string) => (route.view === view ? 'page' : undefined);

  return (
    <>
      {/* Focus moves by script: the hash holds the route, so an in-page anchor (#main) would navigate away. */}
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.overview}>
          vim-monitor
        </a>
        <nav aria-label="Views">
          <a href={href.overview} aria-current={current('overview')}>
            VIMs
          </a>
          <a href={href.events} aria-current={current('events')}>
            Events
          </a>
          <a href={href.workers} aria-current={current('workers')}>
            Workers
          </a>
        </nav>
        <span class={`live ${liveState}`} title="Live updates from the event stream">
          {liveState === 'live' ? 'Live' : liveState === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <span class="user">
          {session.user_name}
          {session.project_name ? ` · ${session.project_name}` : ''}
        </span>
        {session.strategy === 'keystone' && (
          <button type="button" class="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {route.view === 'overview' && <Overview />}
        {route.view === 'vim' && <VimPage id={route.id} />}
        {route.view === 'events' && <EventsFeed />}
        {route.view === 'workers' && <Workers />}
      </main>
      <Announcer />
    </>
  );
}

/** Screen readers hear at most one announcement every few seconds, however many VIMs change. */
const ANNOUNCE_EVERY_MS = 3_000;

/** Live status changes read out by screen readers: the latest few, or how many changed in a burst. */
function Announcer() {
  const version = useStore(vimList);
  const [text, setText] = useState('');
  const [lastAt, setLastAt] = useState(0);
  const [seen, setSeen] = useState(vimList.changeCount);
  useEffect(() => {
    const wait = Math.max(0, lastAt + ANNOUNCE_EVERY_MS - Date.now());
    const timer = setTimeout(() => {
      const fresh = vimList.changeCount - seen;
      if (fresh <= 0) return;
      const latest = vimList.changes.slice(-Math.min(3, fresh)).map((c) => `${c.name} ${c.what}.`);
      setText(fresh > 3 ? `${fresh} changes. Latest: ${latest.join(' ')}` : latest.join(' '));
      setSeen(vimList.changeCount);
      setLastAt(Date.now());
    }, wait);
    return () => clearTimeout(timer);
  }, [version]);
  return (
    <div class="visually-hidden" aria-live="polite" role="status">
      {text}
    </div>
  );
}
