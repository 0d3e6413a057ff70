import { AddressPolicy, LINK_LOCAL_AND_METADATA_CIDRS } from '../net/address-policy.js';
import { EgressGuard, systemLookup, type HostLookup } from '../net/egress-guard.js';

/**
 * What a refused probe target's reason says, whoever reads it: no address,
 * no port, nothing about what (if anything) listens there, because nothing
 * was sent. A tenant cannot map the service's surroundings with VIMs.
 */
export const PROBE_TARGET_REFUSED = 'refused by the probe target policy';

export interface ProbeTargetPolicyOptions {
  /** egress.deny_cidrs */
  denyCidrs?: readonly string[];
  /** egress.allow_cidrs */
  allowCidrs?: readonly string[];
  lookup?: HostLookup;
}

/**
 * The guard every probe goes through (auth_url host, OIDC token URL): the
 * built-in refusals (link-local, cloud metadata, unspecified) and the
 * configured egress lists. See README "Probe target policy".
 */
export function probeTargetGuard(options: ProbeTargetPolicyOptions = {}): EgressGuard {
  const policy = new AddressPolicy({
    builtInDeny: LINK_LOCAL_AND_METADATA_CIDRS,
    denyCidrs: options.denyCidrs ?? [],
    allowCidrs: options.allowCidrs ?? [],
  });
  return new EgressGuard(policy, options.lookup ?? systemLookup, PROBE_TARGET_REFUSED);
}
