/**
 * Turns a socket, TLS or HTTP client error into the short reason a probe
 * reports. Only codes and fixed phrases are used, never the error's own
 * message text beyond a code, so no header or URL with a secret can slip in.
 */
const PHRASES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host is down',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  UND_ERR_SOCKET: 'connection closed by the server before it answered',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE: 'response too large',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed: the server does not speak TLS on this port',
  EPROTO: 'TLS handshake failed',
};

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const TLS_VALIDITY_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export function describeNetworkError(error: unknown): string {
  const code = errorCode(error);
  if (code === undefined) return 'request failed';
  if (TLS_TRUST_CODES.has(code)) return `TLS certificate not trusted (${code}); set ssl_ca_cert to the CA that signed it`;
  if (TLS_VALIDITY_CODES.has(code)) return `TLS certificate not valid now (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return 'TLS certificate does not name this host (ERR_TLS_CERT_ALTNAME_INVALID)';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `TLS handshake failed (${code})`;
  // Node's HTTP parser: something answers on the port, but not in HTTP.
  if (code.startsWith('HPE_')) return `the answer is not valid HTTP (${code})`;
  return PHRASES[code] ?? `request failed (${code})`;
}

/** The first `code` along the error and its causes (HTTP clients may wrap socket errors). */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    current = cause;
  }
  return undefined;
}
