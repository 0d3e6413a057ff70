import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { pinnedLookup, type EgressGuard } from '../../net/egress-guard.js';
import { describeNetworkError } from '../../probes/network-error.js';
import { shownUrl } from '../../probes/http-exchange.js';
import type { ProbeTarget } from '../../probes/probe.js';
import { beforeDeadline, DEADLINE_PASSED } from '../../time/deadline.js';
import type { ConditionResult, ConditionSeverity, ConditionStatus } from '../condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from '../deep-check.js';

const DAY_MS = 86_400_000;

/** One finding about one certificate; the condition is the worst of them. */
export interface CertificateFinding {
  status: ConditionStatus;
  severity: ConditionSeverity;
  reason: string;
}

export interface CertificateContext {
  guard: EgressGuard;
  now: Date;
  /** Days before expiry from which a certificate is a warning. */
  warningDays: number;
  signal: AbortSignal;
}

/** The trust of the connection: the VIM's ssl_ca_cert (else the system store), verified unless cert_verify is False. */
export interface CertificateTls {
  verify: boolean;
  ca?: string;
}

const RANK: Record<string, number> = { 'False:error': 4, 'False:warning': 3, 'Unknown:info': 2, 'True:info': 1 };

/**
 * Severity convention of the deep checks: False carries `error` (the VIM is
 * unusable) or `warning` (it soon will be); True and Unknown carry `info`.
 */
function found(status: ConditionStatus, severity: ConditionSeverity, reason: string): CertificateFinding {
  return { status, severity, reason };
}

/** Judges one certificate's validity period against now and the warning threshold. */
export function judgeValidity(what: string, notBefore: Date, notAfter: Date, now: Date, warningDays: number): CertificateFinding {
  const t = now.getTime();
  if (t < notBefore.getTime()) return found('False', 'error', `${what} is not valid before ${notBefore.toISOString()}`);
  if (t >= notAfter.getTime()) return found('False', 'error', `${what} expired on ${notAfter.toISOString()}`);
  const daysLeft = (notAfter.getTime() - t) / DAY_MS;
  if (daysLeft < warningDays) return found('False', 'warning', `${what} expires in ${Math.max(0, Math.floor(daysLeft))} days (${notAfter.toISOString()})`);
  return found('True', 'info', `${what} valid until ${notAfter.toISOString()}`);
}

/** The worst finding (False/error over False/warning over Unknown over True); the others are kept in the reason when they are not plain passes. */
export function worstFinding(findings: readonly CertificateFinding[]): CertificateFinding {
  if (findings.length === 0) return found('True', 'info', 'no certificate to check');
  const sorted = [...findings].sort((a, b) => (RANK[`${b.status}:${b.severity}`] ?? 0) - (RANK[`${a.status}:${a.severity}`] ?? 0));
  const worst = sorted[0] as CertificateFinding;
  const others = sorted.slice(1).filter((f) => f.status !== 'True');
  const reason = others.length === 0 ? worst.reason : `${worst.reason}; ${others.map((f) => f.reason).join('; ')}`;
  return { ...worst, reason };
}

/** Every certificate in a PEM bundle (ssl_ca_cert, client_cert): unreadable ones are findings, not exceptions. */
export function inspectPemCertificates(label: string, pem: string, now: Date, warningDays: number): CertificateFinding[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return [found('False', 'error', `${label} holds no PEM certificate`)];
  return blocks.map((block, index) => {
    try {
      const cert = new X509Certificate(block);
      const what = blocks.length > 1 ? `${label} certificate ${index + 1}` : `${label} certificate`;
      return judgeValidity(what, new Date(cert.validFrom), new Date(cert.validTo), now, warningDays);
    } catch {
      return found('False', 'error', `${label} certificate ${index + 1} cannot be parsed`);
    }
  });
}

/**
 * Connects to an https URL through the guard (resolve once, check, connect
 * to the checked address) and judges the certificate it presents: leaf
 * validity period, chain trust (when cert_verify), and that it names the
 * host. The handshake is accepted whatever the verification says, so the
 * reason can say what is wrong instead of a bare handshake failure; nothing
 * is sent after it. Never rejects.
 */
export async function inspectTlsEndpoint(url: string, tls: CertificateTls, ctx: CertificateContext): Promise<CertificateFinding> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return found('Unknown', 'info', 'not a valid URL');
  }
  const shown = shownUrl(url);
  if (target.protocol !== 'https:') return found('True', 'info', `${shown} is plain HTTP: no certificate`);
  if (ctx.signal.aborted) return found('Unknown', 'info', `timed out before checking the certificate of ${shown}`);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = target.port === '' ? 443 : Number(target.port);
  const resolution = ctx.guard.checkLiteral(host) ?? (await beforeDeadline(ctx.guard.resolve(host), ctx.signal));
  if (resolution === DEADLINE_PASSED) return found('Unknown', 'info', `timed out before checking the certificate of ${shown}`);
  // A refusal's reason never names the address, and nothing was sent.
  if (!resolution.ok) return found('Unknown', 'info', resolution.refused ? resolution.reason : `${resolution.reason} (${shown})`);

  const socket = await handshake(host, port, resolution.addresses, tls, ctx.signal);
  if ('failure' in socket) return found('Unknown', 'info', `${socket.failure} (${shown})`);
  try {
    const peer = socket.tls.getPeerCertificate(true);
    if (peer === undefined || Object.keys(peer).length === 0) return found('False', 'error', `${shown} presented no certificate`);
    const notBefore = new Date(peer.valid_from);
    const notAfter = new Date(peer.valid_to);
    const findings = [judgeValidity(`the certificate of ${shown}`, notBefore, notAfter, ctx.now, ctx.warningDays)];
    if (tls.verify) {
      const trust = trustFinding(socket.tls, shown);
      if (trust) findings.push(trust);
      if (checkServerIdentity(host, peer) !== undefined) findings.push(found('False', 'error', `the certificate of ${shown} does not name ${host}`));
      findings.push(...chainExpiry(peer, shown, ctx));
    }
    return worstFinding(findings);
  } finally {
    socket.tls.destroy();
  }
}

/** The whole chain's trust, from OpenSSL's verdict (validity periods are judged from the dates, not from its code). */
function trustFinding(socket: TLSSocket, shown: string): CertificateFinding | undefined {
  const error = socket.authorizationError as unknown;
  const code = typeof error === 'string' ? error : error instanceof Error ? (error as NodeJS.ErrnoException).code ?? error.message : undefined;
  if (socket.authorized || code === undefined || code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return undefined;
  return found('False', 'error', `the certificate chain of ${shown} is not trusted (${code}): set ssl_ca_cert to the CA that signed it`);
}

/** Issuers the server sent along: an intermediate that expires first ends the chain first. */
function chainExpiry(leaf: DetailedPeerCertificate, shown: string, ctx: CertificateContext): CertificateFinding[] {
  const out: CertificateFinding[] = [];
  const seen = new Set<string>([leaf.fingerprint256]);
  let current = leaf.issuerCertificate;
  while (current !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    const cn = typeof current.subject?.CN === 'string' ? current.subject.CN : 'an issuer';
    out.push(judgeValidity(`the CA certificate "${cn}" in the chain of ${shown}`, new Date(current.valid_from), new Date(current.valid_to), ctx.now, ctx.warningDays));
    current = current.issuerCertificate;
  }
  return out;
}

type Handshake = { tls: TLSSocket } | { failure: string };

function handshake(host: string, port: number, addresses: Parameters<typeof pinnedLookup>[0], tls: CertificateTls, signal: AbortSignal): Promise<Handshake> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({
      host,
      port,
      lookup: pinnedLookup(addresses),
      // SNI carries names only; an IP literal sends none, as browsers do.
      ...(isIP(host) === 0 && { servername: host }),
      ...(tls.ca !== undefined && { ca: tls.ca }),
      rejectUnauthorized: false,
    });
    const settle = (result: Handshake): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if ('failure' in result) socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => settle({ failure: 'timed out during the TLS handshake' });
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => settle({ tls: socket }));
    socket.once('error', (error) => settle({ failure: describeNetworkError(error) }));
  });
}

export interface CertificateCheckOptions {
  /** The probe target policy. */
  guard: EgressGuard;
  /** Further https URLs of the VIM to judge, e.g. the catalog endpoints the catalog check last checked (CatalogServiceCheck.endpointUrls). */
  extraUrls?: (vimId: string) => readonly string[];
}

/**
 * CertificateValid (layer tls): the certificate of auth_url, the CAs the
 * VIM trusts (ssl_ca_cert) and, for Kubernetes, the client certificate in
 * auth_cred. The catalog check reuses inspectTlsEndpoint for its endpoints.
 */
export class CertificateCheck implements DeepCheck {
  readonly name = 'certificates';

  constructor(private readonly options: CertificateCheckOptions) {}

  async run(input: DeepCheckInput): Promise<DeepCheckReport> {
    const condition = await certificateCondition(input.target, [input.target.authUrl, ...(this.options.extraUrls?.(input.target.vimId) ?? [])], { ...input, guard: this.options.guard, warningDays: input.settings.expiry_warning_days });
    return { conditions: condition ? [condition] : [] };
  }
}

/**
 * The CertificateValid condition for these URLs plus the certificates held
 * in the target's auth_cred; undefined when there is nothing to judge (plain
 * HTTP and no certificate in auth_cred).
 */
export async function certificateCondition(target: ProbeTarget, urls: readonly string[], ctx: CertificateContext): Promise<ConditionResult | undefined> {
  const tls: CertificateTls = { verify: target.tls.verify, ...(target.tls.ca !== undefined && { ca: target.tls.ca }) };
  const httpsUrls = [...new Set(urls)].filter((url) => url.startsWith('https:'));
  const findings = await Promise.all(httpsUrls.map((url) => inspectTlsEndpoint(url, tls, ctx)));
  if (target.tls.ca !== undefined) findings.push(...inspectPemCertificates('ssl_ca_cert', target.tls.ca, ctx.now, ctx.warningDays));
  const clientCert = target.credentials.client_cert;
  if (target.type === 'kubernetes' && clientCert !== undefined && clientCert !== '') {
    findings.push(...inspectPemCertificates('client_cert', clientCert, ctx.now, ctx.warningDays));
  }
  if (findings.length === 0) return undefined;
  const worst = worstFinding(findings);
  return { type: 'CertificateValid', layer: 'tls', ...worst };
}
