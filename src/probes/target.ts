import type { AuthCred, VimRecord } from '../vims/model.js';
import type { ProbeTarget } from './probe.js';

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };
/** The TLS settings of nearly every VIM, one object each for all of them (they are never written). */
const VERIFY: ProbeTarget['tls'] = Object.freeze({ verify: true });
const NO_VERIFY: ProbeTarget['tls'] = Object.freeze({ verify: false });

/**
 * Builds what the probes need from a VIM record and its decrypted
 * credentials. The host comes from the WHATWG URL parser, not from string
 * splitting: Tacker's splitting broke on IPv6 literals and on URLs with paths.
 */
export function probeTargetOf(vim: VimRecord, credentials: AuthCred): ProbeTarget {
  const url = new URL(vim.authUrl);
  // The parser keeps IPv6 literals bracketed ('[fd00::1]'); sockets, DNS and fping want them bare.
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port !== '' ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (port === undefined) throw new Error(`auth_url of VIM ${vim.id} has an unsupported scheme ${url.protocol}`);
  const verify = credentials.cert_verify !== 'False';
  const tls: ProbeTarget['tls'] =
    credentials.ssl_ca_cert !== undefined && credentials.ssl_ca_cert !== '' ? { verify, ca: credentials.ssl_ca_cert } : verify ? VERIFY : NO_VERIFY;
  return {
    vimId: vim.id,
    type: vim.type,
    authUrl: vim.authUrl,
    host,
    port,
    tls,
    credentials,
    project: vim.vimProject,
  };
}
