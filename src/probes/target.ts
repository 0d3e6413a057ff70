import type { AuthCred, VimRecord } from '../vims/model.js';
import type { ProbeTarget } from './probe.js';

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

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
  const tls: ProbeTarget['tls'] = { verify: credentials.cert_verify !== 'False' };
  if (credentials.ssl_ca_cert !== undefined && credentials.ssl_ca_cert !== '') tls.ca = credentials.ssl_ca_cert;
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
