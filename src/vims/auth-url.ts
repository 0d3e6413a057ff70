import { InvalidInputError } from '../errors.js';
import type { EgressGuard } from '../net/egress-guard.js';
import { beforeDeadline, DEADLINE_PASSED, deadline } from '../time/deadline.js';
import type { VimType } from './model.js';

const MAX_URL_LENGTH = 2048;

/**
 * Validates a VIM's auth_url with a real URL parser (IPv6 literals, ports,
 * paths) and normalises it the way Tacker does: an OpenStack Keystone URL
 * without a version gets `/v3`. Credentials embedded in the URL are refused
 * because they would be shown to every reader of the VIM.
 */
export function normaliseAuthUrl(raw: string, type: VimType): string {
  const value = raw.trim();
  if (value.length === 0) throw new InvalidInputError("Invalid auth_url: it must not be empty");
  if (value.length > MAX_URL_LENGTH) throw new InvalidInputError(`Invalid auth_url: longer than ${MAX_URL_LENGTH} characters`);
  // The URL parser drops tabs and line breaks and reads '\' as '/', so the
  // stored value would differ from the one validated.
  if (/[\s\u0000-\u001f\u007f\\]/.test(value)) {
    throw new InvalidInputError('Invalid auth_url: it must not contain whitespace, control characters or backslashes');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo user information (`user:password@`) back.
    const shown = value.includes('@') ? '' : ` '${value}'`;
    throw new InvalidInputError(`Invalid auth_url${shown}: not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(`Invalid auth_url '${url.protocol}//…': the scheme must be http or https`);
  }
  if (url.username || url.password) {
    throw new InvalidInputError('Invalid auth_url: user information in the URL is not allowed; put credentials in auth_cred');
  }
  if (value.slice(0, url.protocol.length + 2).toLowerCase() !== `${url.protocol}//`) {
    throw new InvalidInputError(`Invalid auth_url '${value}': it must start with ${url.protocol}//`);
  }
  // The URL parser skips extra slashes in http(s) URLs: 'http:///v3' would quietly become host 'v3'.
  if (!url.hostname || value.charAt(url.protocol.length + 2) === '/') throw new InvalidInputError(`Invalid auth_url '${value}': no host`);
  // An empty '?' or '#' leaves url.search and url.hash empty, but stays in the value.
  if (url.search || url.hash || /[?#]/.test(value)) throw new InvalidInputError(`Invalid auth_url '${value}': query strings and fragments are not allowed`);

  const withoutTrailingSlash = value.replace(/\/+$/, '');
  if (type === 'openstack' && !/\/v3$/.test(withoutTrailingSlash)) return `${withoutTrailingSlash}/v3`;
  return withoutTrailingSlash;
}

/** How long VIM creation waits for DNS before it accepts a host name unchecked (the probes check it anyway). */
const CREATE_LOOKUP_LIMIT_MS = 5_000;

/**
 * The probe target policy at create/update time, for a URL the service will
 * connect to for this VIM (auth_url, auth_cred.oidc_token_url): an IP literal
 * is judged directly, a host name resolved and every address judged. A name
 * that does not resolve (or not within 5 s) is accepted: a VIM may be
 * registered while its DNS is down, and every probe checks again after its
 * own lookup, sending nothing to a refused address. The message never names
 * the resolved address.
 */
export async function checkProbeTarget(raw: string, where: string, guard: EgressGuard): Promise<void> {
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  const literal = guard.checkLiteral(host);
  if (literal) {
    if (!literal.ok) throw new InvalidInputError(`Invalid ${where}: the probe target policy refuses this address`);
    return;
  }
  const limit = deadline(CREATE_LOOKUP_LIMIT_MS);
  try {
    const resolution = await beforeDeadline(guard.resolve(host), limit.signal);
    if (resolution !== DEADLINE_PASSED && !resolution.ok && resolution.refused) {
      throw new InvalidInputError(`Invalid ${where}: host ${host} resolves to an address the probe target policy refuses`);
    }
  } finally {
    limit.dispose();
  }
}
