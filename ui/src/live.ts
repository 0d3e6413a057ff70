import type { VimEvent } from './types';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

type EventListener = (event: VimEvent) => void;
type StateListener = (state: LiveState) => void;

/**
 * The one EventSource of the page, on the service's SSE stream. The browser
 * reconnects by itself, with Last-Event-ID, so nothing is missed across a
 * short break; views subscribe to what it delivers instead of polling.
 */
class LiveStream {
  private source: EventSource | undefined;
  private readonly listeners = new Set<EventListener>();
  private readonly stateListeners = new Set<StateListener>();
  state: LiveState = 'connecting';

  start(): void {
    if (this.source) return;
    const source = new EventSource('/v1.0/events/stream', { withCredentials: true });
    this.source = source;
    const deliver = (message: MessageEvent<string>) => {
      let event: VimEvent;
      try {
        event = JSON.parse(message.data) as VimEvent;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(event);
    };
    for (const name of ['vim.status', 'vim.health', 'monitor.isolated', 'monitor.isolation_ended']) source.addEventListener(name, deliver);
    source.onopen = () => this.setState('live');
    source.onerror = () => this.setState('reconnecting');
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
    this.setState('connecting');
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

export const live = new LiveStream();
