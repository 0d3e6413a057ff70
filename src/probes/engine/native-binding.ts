/**
 * The contract of the native probe engine (native/probe-engine, C, built
 * from source by node-gyp at install) and its loader. The engine runs one
 * thread with an epoll loop: ICMP echo for every target over one socket per
 * family, and HTTP/1.1 exchanges (plain or TLS, with OpenSSL as Node.js
 * itself carries it) without a JavaScript object per check. Jobs go in as
 * typed arrays, results come back in batches on the JavaScript thread.
 *
 * When the addon is missing (the build failed, another platform) the
 * loader says why and the service uses the Node.js drivers (fping and
 * node:http), which stay tested as the fallback.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How this process can send ICMP echo in one family. */
export type IcmpMode = 'raw' | 'dgram' | 'none';

export interface IcmpSupport {
  ipv4: IcmpMode;
  ipv6: IcmpMode;
  /** Why a family is 'none' (no CAP_NET_RAW and ping_group_range excludes our group, …). */
  reason?: string;
}

/** One batch of finished jobs, on the JavaScript thread. Arrays are index-aligned, `count` long. */
export interface NativeResults {
  count: number;
  /** Job ids as submitted. */
  ids: Uint32Array;
  /**
   * ICMP: 1 when an echo reply came, 0 otherwise.
   * HTTP: the status code when a status line arrived (100–599), 0 otherwise.
   */
  outcome: Int32Array;
  /** ICMP: send to reply. HTTP: start of connect to the end of the response headers. In microseconds; 0 on failure. */
  latencyUs: Uint32Array;
  /**
   * For outcome 0: a Node.js-style error code, as src/probes/network-error.ts words it:
   * 'ETIMEDOUT' (the job's deadline passed), 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH',
   * 'EADDRNOTAVAIL', TLS: 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
   * 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO';
   * HTTP: 'HPE_INVALID' (not HTTP), 'ECONNRESET' (closed before a status line); ICMP: 'EHOSTUNREACH' / 'ENETUNREACH'
   * for an ICMP error reply. undefined where outcome is not 0.
   */
  errors: Array<string | undefined>;
  /** HTTP bodies of jobs that asked for one (maxBody > 0): bytes bodyStart[i] .. bodyStart[i] + bodyLength[i] of `bodies`. */
  bodies: Buffer;
  bodyStart: Uint32Array;
  bodyLength: Uint32Array;
}

export interface TlsContextOptions {
  /** Verify the chain and the name (false: cert_verify 'False'). */
  verify: boolean;
  /** PEM, one or more certificates: the only roots trusted. Without it, Node.js's bundled roots (tls.rootCertificates) are passed by the caller. */
  caPem: string;
}

export interface HttpTargetOptions {
  /** An IPv4 or IPv6 literal (no brackets): the engine connects only here, DNS is the caller's business. */
  address: string;
  port: number;
  /** The whole request, e.g. 'GET /v3 HTTP/1.1\r\nHost: …\r\nConnection: close\r\n\r\n'. */
  request: Buffer;
  /** 0 for plain HTTP, else an id from tlsContext(). */
  tlsContext: number;
  /** SNI and the name the certificate must carry (a host name or an IP literal); ignored for plain HTTP. */
  serverName: string;
  /** Bytes of body to hand back (0: none; the connection is closed once the headers are in). */
  maxBody: number;
}

export interface EngineOptions {
  /** Connections open at once; more jobs wait in a queue (default 4,096). */
  maxConnections?: number;
}

export interface EngineStats {
  /** Jobs submitted, finished, in flight now, and echo requests sent. */
  submitted: number;
  finished: number;
  inFlight: number;
  echoSent: number;
}

/** One engine: a thread of its own. close() stops it; jobs still in flight are not answered. */
export interface NativeEngine {
  readonly icmp: IcmpSupport;
  /**
   * Echo requests to `addresses[i]` (IPv4 or IPv6 literals), each answered by its deadline. `more`: another
   * call follows at once; the engine thread is woken by that one and answers both together (an empty call
   * with `more` false only wakes it).
   */
  ping(ids: Uint32Array, addresses: string[], timeoutMs: number, more?: boolean): void;
  tlsContext(options: TlsContextOptions): number;
  dropTlsContext(id: number): void;
  /** Defines (or redefines) HTTP target `key` for later http() calls. */
  defineHttpTarget(key: number, options: HttpTargetOptions): void;
  dropHttpTarget(key: number): void;
  /** One exchange per job with the target `targets[i]`, each answered by its deadline. */
  http(ids: Uint32Array, targets: Uint32Array, timeoutMs: number, more?: boolean): void;
  stats(): EngineStats;
  close(): void;
}

export interface NativeBinding {
  Engine: new (onResults: (results: NativeResults) => void, options?: EngineOptions) => NativeEngine;
  /** The addon's version, for the log. */
  version: string;
  /** glibc's malloc_trim(0): gives the pages of freed malloc memory back to the kernel; false when none was released or the C library has no such call. */
  trimMemory(): boolean;
}

export type LoadResult = { ok: true; binding: NativeBinding; path: string } | { ok: false; reason: string };

const ADDON_NAME = 'probe_engine.node';

/** Where the addon is looked for: VIM_MONITOR_PROBE_ENGINE (a file) first, then the build folder of the package. */
function candidates(): string[] {
  const fromEnv = process.env.VIM_MONITOR_PROBE_ENGINE;
  if (fromEnv !== undefined && fromEnv !== '') return [fromEnv];
  // From src/probes/engine or dist/probes/engine to the package root.
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return [path.join(root, 'native', 'probe-engine', 'build', 'Release', ADDON_NAME)];
}

let loaded: LoadResult | undefined;

/** Loads the addon once per process; never throws. */
export function loadNativeBinding(): LoadResult {
  if (loaded) return loaded;
  const tried = candidates();
  const found = tried.find((file) => existsSync(file));
  if (found === undefined) {
    loaded = { ok: false, reason: `the native probe engine is not built (looked for ${tried.join(', ')}; run npm rebuild or npm run build:native)` };
    return loaded;
  }
  try {
    const binding = createRequire(import.meta.url)(found) as NativeBinding;
    loaded = { ok: true, binding, path: found };
  } catch (error) {
    loaded = { ok: false, reason: `the native probe engine at ${found} did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  return loaded;
}
