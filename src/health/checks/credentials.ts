import type { KeystoneAuthenticator } from '../../probes/keystone-auth.js';
import type { OidcTokenSource } from '../../probes/oidc-token.js';
import type { ProbeTarget } from '../../probes/probe.js';
import type { ConditionResult } from '../condition.js';
import type { DeepCheck, DeepCheckInput, DeepCheckReport } from '../deep-check.js';

const DAY_MS = 86_400_000;

export interface CredentialCheckOptions {
  /** Share the auth probe's authenticator: one token per VIM serves both. */
  keystone: KeystoneAuthenticator;
  /** Share the auth probe's token source: a refresh failure it sees is the one reported here. */
  oidc: OidcTokenSource;
}

function condition(status: ConditionResult['status'], severity: ConditionResult['severity'], reason: string): ConditionResult {
  return { type: 'CredentialValid', layer: 'authentication', status, severity, reason };
}

/** Judges a credential's end: False/error once passed, False/warning within the warning days, else True. */
export function judgeExpiry(what: string, expiresAt: number, now: Date, warningDays: number): ConditionResult {
  const left = expiresAt - now.getTime();
  const when = new Date(expiresAt).toISOString();
  if (left <= 0) return condition('False', 'error', `${what} expired on ${when}`);
  if (left < warningDays * DAY_MS) return condition('False', 'warning', `${what} expires in ${Math.floor(left / DAY_MS)} days (${when})`);
  return condition('True', 'info', `${what} valid until ${when}`);
}

/** The `exp` of a JWT, decoded without verifying (the API server verifies it; we only read its end). undefined: not a JWT, or no exp. */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = typeof payload === 'object' && payload !== null ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CredentialValid (layer authentication): will the VIM's credentials keep
 * working? OpenStack: the user's password_expires_at (Keystone reports it
 * when [security_compliance] password_expires_days is set) and the token's
 * own end (renewed automatically, so only shown). Kubernetes: a bearer token
 * that is a JWT ends at its `exp`; an OIDC account is as good as its last
 * id_token refresh. Reasons carry dates and fixed words, never a credential.
 */
export class CredentialCheck implements DeepCheck {
  readonly name = 'credentials';
  /** Last password expiry Keystone reported per VIM: a later failed login after it passed is an expired password. */
  private readonly passwordExpiry = new Map<string, number>();

  constructor(private readonly options: CredentialCheckOptions) {}

  async run(input: DeepCheckInput): Promise<DeepCheckReport> {
    const result = input.target.type === 'kubernetes' ? await this.kubernetes(input) : await this.openstack(input);
    return { conditions: result ? [result] : [] };
  }

  forget(vimId: string): void {
    this.passwordExpiry.delete(vimId);
  }

  private async openstack({ target, settings, signal, now }: DeepCheckInput): Promise<ConditionResult> {
    const result = await this.options.keystone.session(target, signal);
    if (!result.ok) {
      const known = this.passwordExpiry.get(target.vimId);
      if (known !== undefined && known <= now.getTime()) return judgeExpiry("the user's password", known, now, settings.expiry_warning_days);
      // The Authenticated condition carries the login failure; nothing here is known either way.
      return condition('Unknown', 'info', `no Keystone token to judge the credentials: ${result.reason}`);
    }
    const { session } = result;
    const token = `the token is valid until ${new Date(session.expiresAt).toISOString()}`;
    if (session.passwordExpiresAt === undefined) {
      this.passwordExpiry.delete(target.vimId);
      return condition('True', 'info', `the password does not expire; ${token}`);
    }
    this.passwordExpiry.set(target.vimId, session.passwordExpiresAt);
    const password = judgeExpiry("the user's password", session.passwordExpiresAt, now, settings.expiry_warning_days);
    return { ...password, reason: `${password.reason}; ${token}` };
  }

  private async kubernetes({ target, settings, signal, now }: DeepCheckInput): Promise<ConditionResult | undefined> {
    const cred = target.credentials;
    if (cred.oidc_token_url !== undefined) return this.oidc(target, signal);
    if (cred.bearer_token !== undefined) {
      const exp = jwtExpiry(cred.bearer_token);
      if (exp === undefined) return condition('True', 'info', 'the bearer token carries no expiry (not a JWT with exp)');
      return judgeExpiry('the bearer token', exp, now, settings.expiry_warning_days);
    }
    // Client certificates are judged by CertificateValid; basic auth has no end to judge.
    return undefined;
  }

  private async oidc(target: ProbeTarget, signal: AbortSignal): Promise<ConditionResult> {
    const result = await this.options.oidc.idToken(target, signal);
    if (result.ok) return condition('True', 'info', result.fromCache ? 'the OIDC id_token is still valid' : 'the OIDC provider issued an id_token');
    if (result.timedOut) return condition('Unknown', 'info', 'timed out refreshing the OIDC id_token');
    return condition('False', 'error', `OIDC token refresh failed: ${result.reason}`);
  }
}
