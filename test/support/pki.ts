/**
 * A throw-away certificate authority for TLS tests, made with openssl: a CA,
 * a server certificate it signed for 127.0.0.1, ::1 and localhost, and client
 * certificates on demand. (fixtures.ts' makeCertificate() is self-signed,
 * which a client cannot use as a CA for a server certificate.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: KeyPair;
  /** For 127.0.0.1, ::1 and localhost. */
  server: KeyPair;
  /** A client certificate with this CN (and O, which Kubernetes reads as a group), signed by the CA. */
  client(commonName: string, organization?: string): KeyPair;
}

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function inTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-pki-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function signed(ca: KeyPair, subject: string, extensions: string): KeyPair {
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    writeFileSync(join(dir, 'ext.cnf'), extensions);
    openssl(['req', ...CURVE, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', subject], dir);
    openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'leaf.pem', '-extfile', 'ext.cnf'], dir);
    return { cert: readFileSync(join(dir, 'leaf.pem'), 'utf8'), key: readFileSync(join(dir, 'leaf.key'), 'utf8') };
  });
}

export function makeCertificateAuthority(commonName = 'vim-monitor test CA'): KeyPair {
  return inTempDir((dir) => {
    openssl([
      'req', '-x509', ...CURVE, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ], dir);
    return { cert: readFileSync(join(dir, 'ca.pem'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
}

export function makeTestPki(): TestPki {
  const ca = makeCertificateAuthority();
  const server = signed(ca, '/CN=localhost', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return {
    ca,
    server,
    client: (commonName, organization) =>
      signed(ca, `/CN=${commonName}${organization ? `/O=${organization}` : ''}`, 'extendedKeyUsage=clientAuth\n'),
  };
}
