import { describe, expect, it } from 'vitest';
import { describeNetworkError } from './network-error.js';

const withCode = (code: string, message = 'with secret-abc inside') => Object.assign(new Error(message), { code });

describe('describeNetworkError', () => {
  it('words socket errors by their code, never by their message', () => {
    expect(describeNetworkError(withCode('ECONNREFUSED'))).toBe('connection refused');
    expect(describeNetworkError(withCode('EHOSTUNREACH'))).toBe('host unreachable');
    expect(describeNetworkError(withCode('EWEIRD'))).toBe('request failed (EWEIRD)');
    expect(describeNetworkError(new Error('secret-abc'))).toBe('request failed');
  });

  it('finds the code of an error wrapped as a cause', () => {
    expect(describeNetworkError(new Error('fetch failed', { cause: withCode('ECONNRESET') }))).toBe('connection reset by the server');
  });

  it('tells TLS trust problems apart and says what to set', () => {
    expect(describeNetworkError(withCode('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(
      'TLS certificate not trusted (DEPTH_ZERO_SELF_SIGNED_CERT); set ssl_ca_cert to the CA that signed it',
    );
    expect(describeNetworkError(withCode('CERT_HAS_EXPIRED'))).toBe('TLS certificate not valid now (CERT_HAS_EXPIRED)');
    expect(describeNetworkError(withCode('ERR_TLS_CERT_ALTNAME_INVALID'))).toContain('does not name this host');
  });
});
