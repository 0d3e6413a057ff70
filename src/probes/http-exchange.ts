import type { IncomingHttpHeaders } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import { latencySince, monotonicMs } from './deadline.js';
import { describeNetworkError } from './network-error.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most maxBodyBytes of the body, as UTF-8. */
  body: string;
  /** Time until the response headers arrived. */
  latencyMs: number;
}

export type HttpResult = { ok: true; response: HttpResponse } | { ok: false; timedOut: boolean; reason: string };

export interface HttpRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /** Bodies are read only this far (default 64 KiB); the rest is dropped with the connection. */
  maxBodyBytes?: number;
}

/**
 * One HTTP exchange of a probe. Never rejects: a network or TLS failure
 * becomes a reason, an aborted signal a time-out for the caller to word.
 */
export async function httpExchange(dispatcher: Dispatcher, url: string, req: HttpRequest): Promise<HttpResult> {
  const startedAt = monotonicMs();
  try {
    // undici does not always give up a connect to a host that drops SYNs when the signal aborts (it waits for
    // its own connect timeout): race it, so the probe answers by its deadline whatever the socket does.
    const exchange = (async () => {
      const response = await request(url, {
        dispatcher,
        method: req.method ?? 'GET',
        headers: req.headers,
        body: req.body,
        signal: req.signal,
      });
      const latencyMs = latencySince(startedAt);
      const body = await readCapped(response.body, req.maxBodyBytes ?? 65_536);
      return { status: response.statusCode, headers: response.headers, body, latencyMs };
    })();
    const outcome = await beforeDeadline(exchange, req.signal);
    if (outcome === DEADLINE_PASSED) {
      exchange.catch(() => undefined);
      return { ok: false, timedOut: true, reason: 'timed out' };
    }
    return { ok: true, response: outcome };
  } catch (error) {
    if (req.signal.aborted) return { ok: false, timedOut: true, reason: 'timed out' };
    return { ok: false, timedOut: false, reason: describeNetworkError(error) };
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.length;
    if (size >= maxBytes) {
      // Enough to judge; dropping the rest closes this connection instead of reading megabytes.
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** A URL as shown in a reason: no query string or fragment (they may carry tokens). */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
