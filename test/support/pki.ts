/**
 * A throw-away certificate authority for TLS tests, made with openssl: a CA,
 * a server certificate it signed for 127.0.0.1, ::1 and localhost, and client
 * certificates on demand. (fixtures.ts' makeCertificate() is self-signed,
 * which a client cannot use as a CA for a server certificate.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
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

export function makeCertificateAuthority(commonName = 'vim-monitor test CA', days = 2): KeyPair {
  return inTempDir((dir) => {
    openssl([
      'req', '-x509', ...CURVE, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', String(days), '-subj', `/CN=${commonName}`,
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

/** openssl's date format for -startdate/-enddate (UTC). */
function opensslDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

/**
 * A server certificate signed by `ca` and valid exactly from notBefore to
 * notAfter (dates in the past or future), for `names` (DNS names and IP
 * addresses). `openssl ca` is used because OpenSSL 3.0's `x509 -req` only
 * knows "-days from now", and expiry tests need expired and not-yet-valid ones.
 */
export function issueServerCertificate(ca: KeyPair, options: { notBefore: Date; notAfter: Date; names: string[] }): KeyPair {
  return inTempDir((dir) => {
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), `${randomBytes(8).toString('hex')}\n`);
    const san = options.names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    writeFileSync(
      join(dir, 'ca.cnf'),
      ['[ca]', 'default_ca = test', '[test]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'certificate = $dir/ca.pem',
        'private_key = $dir/ca.key', 'serial = $dir/serial', 'default_md = sha256', 'policy = any', 'unique_subject = no', 'email_in_dn = no',
        '[any]', 'commonName = supplied', ''].join('\n'),
    );
    openssl(['req', ...CURVE, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${options.names[0] ?? 'localhost'}`], dir);
    openssl(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-in', 'leaf.csr', '-out', 'leaf.pem', '-extfile', 'ext.cnf',
      '-startdate', opensslDate(options.notBefore), '-enddate', opensslDate(options.notAfter)], dir);
    return { cert: readFileSync(join(dir, 'leaf.pem'), 'utf8'), key: readFileSync(join(dir, 'leaf.key'), 'utf8') };
  });
}
