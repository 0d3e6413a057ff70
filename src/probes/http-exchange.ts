import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pinnedLookup } from '../net/egress-guard.js';
import { beforeDeadline, DEADLINE_PASSED } from '../time/deadline.js';
import type { ProbeAgent } from './http-agents.js';
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

const TIMED_OUT: HttpResult = { ok: false, timedOut: true, reason: 'timed out' };

/**
 * One HTTP exchange of a probe, on Node's own HTTP client. Never rejects: a
 * network or TLS failure becomes a reason, an aborted signal a time-out for
 * the caller to word. The signal ends the exchange in any phase (DNS,
 * connect, TLS, headers, body): destroying the request closes its socket,
 * so a host that drops SYNs cannot keep the probe past its deadline.
 *
 * The host is resolved once by the agent's guard (the probe target policy),
 * every address checked, and the request connects only to those addresses
 * (a pinned `lookup`; the URL keeps the name for the Host header and TLS
 * SNI). A refused host gets the policy's reason and nothing is sent to it.
 */
export async function httpExchange(agent: ProbeAgent, url: string, req: HttpRequest): Promise<HttpResult> {
  const { signal } = req;
  if (signal.aborted) return Promise.resolve(TIMED_OUT);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, timedOut: false, reason: 'not a valid URL' });
  }
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') return Promise.resolve({ ok: false, timedOut: false, reason: `unsupported URL scheme ${target.protocol}` });
  const maxBodyBytes = req.maxBodyBytes ?? 65_536;
  const startedAt = monotonicMs();
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const resolution = agent.guard.checkLiteral(host) ?? (await beforeDeadline(agent.guard.resolve(host), signal));
  if (resolution === DEADLINE_PASSED || signal.aborted) return TIMED_OUT;
  if (!resolution.ok) return { ok: false, timedOut: false, reason: resolution.refused ? resolution.reason : describeDnsFailure(resolution) };
  const lookup = pinnedLookup(resolution.addresses);

  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: HttpResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      settle(TIMED_OUT);
      request.destroy();
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const send = secure ? httpsRequest : httpRequest;
    const request = send(target, { agent: secure ? agent.https : agent.http, method: req.method ?? 'GET', headers, lookup }, (response) => {
      const latencyMs = latencySince(startedAt);
      readCapped(response, maxBodyBytes, (body) =>
        settle({ ok: true, response: { status: response.statusCode ?? 0, headers: response.headers, body, latencyMs } }),
      );
    });
    request.on('error', (error) => settle(signal.aborted ? TIMED_OUT : { ok: false, timedOut: false, reason: describeNetworkError(error) }));
    signal.addEventListener('abort', onAbort, { once: true });
    request.end(req.body);
  });
}

/** As the HTTP client worded a failed lookup before the guard took it over ('host name not found'). */
function describeDnsFailure(failure: { code?: string; reason: string }): string {
  return failure.code !== undefined && failure.code !== 'error' ? describeNetworkError({ code: failure.code }) : failure.reason;
}

/** Reads at most maxBytes of the body; enough to judge, and dropping the rest closes the connection instead of reading megabytes. */
function readCapped(response: IncomingMessage, maxBytes: number, done: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done(Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'));
  };
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxBytes) {
      finish();
      response.destroy();
    }
  });
  response.on('end', finish);
  // A body cut off by the server: what arrived is still the answer (the status line decided already).
  response.on('error', finish);
  response.on('close', finish);
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
