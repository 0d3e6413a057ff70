import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (#/, #/vims/<id>, #/events, #/workers): the service serves one
 * index.html at /ui/ and needs no fallback route for deep links.
 */
export type Route = { view: 'overview' } | { view: 'vim'; id: string } | { view: 'events' } | { view: 'workers' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  const vim = /^\/vims\/([^/]+)$/.exec(path);
  if (vim?.[1]) return { view: 'vim', id: decodeURIComponent(vim[1]) };
  if (path === '/events') return { view: 'events' };
  if (path === '/workers') return { view: 'workers' };
  return { view: 'overview' };
}

export const href = {
  overview: '#/',
  vim: (id: string) => `#/vims/${encodeURIComponent(id)}`,
  events: '#/events',
  workers: '#/workers',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
