import { request, type Dispatcher } from 'undici';
import type { Clock } from '../time/clock.js';
import type { EventSink, VimEvent } from './vim-event.js';
import { SIGNATURE_HEADER, signPayload } from './webhook-signature.js';
import { eventToWire } from './wire.js';

export interface WebhookTarget {
  subscriptionId: string;
  callbackUrl: string;
  secret: string;
}

/**
 * POSTs each event to a subscription's callback URL, signed; any 2xx is an
 * acknowledgement. The dispatcher must be the guarded agent
 * (net/guarded-agent.ts): it checks the callback's addresses on every new
 * connection and connects only to the addresses it checked.
 */
export class WebhookSink implements EventSink {
  readonly name: string;

  constructor(
    private readonly target: WebhookTarget,
    private readonly deps: { dispatcher: Dispatcher; clock: Clock },
  ) {
    this.name = `webhook:${target.subscriptionId}`;
  }

  async deliver(event: VimEvent, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ subscription_id: this.target.subscriptionId, event: eventToWire(event) });
    const now = Math.floor(this.deps.clock.now().getTime() / 1000);
    const response = await request(this.target.callbackUrl, {
      dispatcher: this.deps.dispatcher,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vim-monitor',
        'x-vim-monitor-event-id': String(event.id),
        'x-vim-monitor-subscription-id': this.target.subscriptionId,
        [SIGNATURE_HEADER]: signPayload(this.target.secret, body, now),
      },
      body,
      signal,
    });
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`callback answered HTTP ${response.statusCode}`);
  }
}
