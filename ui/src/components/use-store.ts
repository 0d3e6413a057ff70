import { useEffect, useState } from 'preact/hooks';

interface Store {
  version: number;
  subscribe(listener: () => void): () => void;
}

/** Re-renders the component when the store says it changed; returns the store's version. */
export function useStore(store: Store): number {
  const [version, setVersion] = useState(store.version);
  useEffect(() => {
    setVersion(store.version);
    return store.subscribe(() => setVersion(store.version));
  }, [store]);
  return version;
}
