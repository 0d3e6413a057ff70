import type { EventSink, VimEvent } from '../events/vim-event.js';

/**
 * Whether the notification broker took this process's last AMQP delivery:
 * wraps the AMQP sink, so the isolation guard can wait out a grace period
 * after a broker outage as after a database outage. Knows only of the
 * deliveries this process makes (the worker that holds the AMQP channel).
 */
export class BrokerWatch {
  private failing = false;

  /** True from a failed delivery until one succeeds. */
  get down(): boolean {
    return this.failing;
  }

  wrap(sink: EventSink): EventSink {
    return {
      name: sink.name,
      deliver: async (event: VimEvent, signal: AbortSignal) => {
        try {
          await sink.deliver(event, signal);
        } catch (error) {
          // Refused, unreachable or past the delivery deadline: all mean the broker does not take notifications now.
          this.failing = true;
          throw error;
        }
        this.failing = false;
      },
      ...(sink.close && { close: () => sink.close!() }),
    };
  }
}
