import { isIP } from 'node:net';
import { InvalidInputError } from '../errors.js';
import { AddressPolicy, LINK_LOCAL_AND_METADATA_CIDRS, LOOPBACK_CIDRS } from '../net/address-policy.js';
import { EgressGuard, systemLookup, type HostLookup } from '../net/egress-guard.js';

export interface CallbackPolicy {
  /** Loopback receivers (127.0.0.0/8, ::1): off by default, for tests and single-host set-ups. */
  allowLoopback: boolean;
  /** Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254): off by default. */
  allowLinkLocal: boolean;
  /** egress.deny_cidrs and egress.allow_cidrs: the policy shared with the probes. */
  denyCidrs?: readonly string[];
  allowCidrs?: readonly string[];
  /** The resolver (tests inject one); the system's by default. */
  lookup?: HostLookup;
}

const LOOPBACK = new AddressPolicy({ builtInDeny: LOOPBACK_CIDRS });
const LINK_LOCAL = new AddressPolicy({ builtInDeny: LINK_LOCAL_AND_METADATA_CIDRS });

const guards = new WeakMap<CallbackPolicy, EgressGuard>();

/**
 * The guard of webhook connections: the outbound address policy of the
 * probes (egress.*) with the webhook switches on top. Every connection to a
 * callback goes through it (see net/guarded-agent.ts), so a name re-pointed
 * between the check and the connection cannot reach a refused address.
 */
export function callbackGuard(policy: CallbackPolicy): EgressGuard {
  let guard = guards.get(policy);
  if (!guard) {
    const builtInDeny = [...(policy.allowLinkLocal ? [] : LINK_LOCAL_AND_METADATA_CIDRS), ...(policy.allowLoopback ? [] : LOOPBACK_CIDRS)];
    const addresses = new AddressPolicy({ builtInDeny, denyCidrs: policy.denyCidrs ?? [], allowCidrs: policy.allowCidrs ?? [] });
    guard = new EgressGuard(addresses, policy.lookup ?? systemLookup, 'callback address refused by the outbound address policy');
    guards.set(policy, guard);
  }
  return guard;
}

/**
 * Checks a webhook callback URL and every address its host resolves to, at
 * creation, for a clear 400. The connections themselves are checked again
 * (and pinned to what was checked) by the guard, at creation's test GET and
 * at every delivery.
 */
export async function checkCallbackUrl(raw: string, policy: CallbackPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidInputError('callback_url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('callback_url must use http or https');
  if (url.username || url.password) throw new InvalidInputError('callback_url must not carry user information; the payload is signed instead');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await (policy.lookup ?? systemLookup)(host)).map((entry) => entry.address);
    } catch (error) {
      throw new InvalidInputError(`callback_url host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (addresses.length === 0) throw new InvalidInputError(`callback_url host ${host} does not resolve (no address)`);
  }
  const guard = callbackGuard(policy);
  for (const address of addresses) {
    if (guard.policy.refuses(address)) throw new InvalidInputError(explainRefusal(address, policy));
  }
  return url;
}

function explainRefusal(address: string, policy: CallbackPolicy): string {
  if (isUnspecified(address)) return `callback_url resolves to ${address}, which is not a host`;
  if (!policy.allowLinkLocal && LINK_LOCAL.refuses(address)) {
    return `callback_url resolves to ${address}, a link-local or metadata address; refused unless webhooks.allow_link_local is true`;
  }
  if (!policy.allowLoopback && LOOPBACK.refuses(address)) {
    return `callback_url resolves to ${address}, a loopback address; refused unless webhooks.allow_loopback is true`;
  }
  return `callback_url resolves to ${address}, which the outbound address policy (egress.deny_cidrs) refuses`;
}

const NOTHING = new AddressPolicy();

/** AddressPolicy refuses the unspecified addresses whatever its rules: a policy without rules refuses only those. */
function isUnspecified(address: string): boolean {
  return NOTHING.refuses(address);
}
