import { Agent, buildConnector } from 'undici';
import { EgressRefusedError, type EgressGuard } from './egress-guard.js';

export interface GuardedAgentOptions {
  /** Connect timeout, ms. */
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

/**
 * An undici Agent whose every new connection goes through the guard: a host
 * name is resolved once by the guard, every address checked, and the socket
 * connects to those addresses only (the URL keeps the name, so the Host
 * header and TLS SNI are the name's). An IP literal is checked before the
 * connect. A pooled keep-alive connection was checked when it was opened.
 */
export function guardedAgent(guard: EgressGuard, options: GuardedAgentOptions): Agent {
  const connect = buildConnector({ timeout: options.connectTimeoutMs, lookup: guard.connectionLookup });
  const guarded: buildConnector.connector = (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    // A name resolves inside the connector's lookup; a literal never reaches one, so it is judged here.
    const literal = guard.checkLiteral(host);
    if (literal && !literal.ok) {
      process.nextTick(callback, new EgressRefusedError(literal.reason), null);
      return;
    }
    connect(opts, callback);
  };
  return new Agent({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000, connect: guarded });
}
