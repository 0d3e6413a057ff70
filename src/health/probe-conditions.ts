import type { ProbeName } from '../probes/probe.js';
import type { ConditionResult, ConditionType } from './condition.js';

/** What the monitor last saw from one fast probe. */
export interface ProbeResult {
  ok: boolean;
  reason: string;
}

export type ProbeResults = Partial<Record<ProbeName, ProbeResult>>;

/** The types only the fast probes decide (CertificateValid is the deep certificate check's too). */
export const FAST_CONDITION_TYPES: ReadonlySet<ConditionType> = new Set<ConditionType>(['NetworkReachable', 'IdentityAPI', 'Authenticated']);

/**
 * The probe layer's certificate failures (src/probes/network-error.ts):
 * untrusted, expired or not yet valid, or naming another host. A handshake
 * that fails for another cause (the port does not speak TLS) is not a
 * certificate problem, so it stays an IdentityAPI failure.
 */
const CERTIFICATE_FAILURE = /^TLS certificate /;

/** Whether a failed api probe's reason is a certificate failure (its own CertificateValid condition). */
export function isCertificateFailure(reason: string): boolean {
  return CERTIFICATE_FAILURE.test(reason);
}

/**
 * The conditions the fast probes decide, one per type: icmp/tcp →
 * NetworkReachable, a certificate failure of the api probe →
 * CertificateValid, api → IdentityAPI, auth → Authenticated. They are the
 * checks that decide `status` today, so all are error severity. Only
 * configured probes that have answered at least once give a condition.
 * CertificateValid is reported only when it fails: whether a certificate is
 * good (and for how long) is the deep certificate check's to say.
 */
export function probeConditions(configured: readonly ProbeName[], results: ProbeResults): ConditionResult[] {
  const conditions: ConditionResult[] = [];
  const network = configured.filter((name) => (name === 'icmp' || name === 'tcp') && results[name] !== undefined);
  if (network.length > 0) {
    const failed = network.filter((name) => results[name]?.ok === false);
    conditions.push({
      type: 'NetworkReachable',
      layer: 'network',
      status: failed.length > 0 ? 'False' : 'True',
      severity: 'error',
      reason: (failed.length > 0 ? failed : network).map((name) => `${name}: ${results[name]!.reason}`).join('; '),
    });
  }
  const api = configured.includes('api') ? results.api : undefined;
  if (api) {
    if (!api.ok && isCertificateFailure(api.reason)) {
      conditions.push({ type: 'CertificateValid', layer: 'tls', status: 'False', severity: 'error', reason: api.reason });
    }
    conditions.push({ type: 'IdentityAPI', layer: 'identity', status: api.ok ? 'True' : 'False', severity: 'error', reason: api.reason });
  }
  const auth = configured.includes('auth') ? results.auth : undefined;
  if (auth) conditions.push({ type: 'Authenticated', layer: 'authentication', status: auth.ok ? 'True' : 'False', severity: 'error', reason: auth.reason });
  return conditions;
}
