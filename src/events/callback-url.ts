import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { InvalidInputError } from '../errors.js';

export interface CallbackPolicy {
  /** Loopback receivers (127.0.0.0/8, ::1): off by default, for tests and single-host set-ups. */
  allowLoopback: boolean;
  /** Link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254): off by default. */
  allowLinkLocal: boolean;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');
LINK_LOCAL.addAddress('fd00:ec2::254', 'ipv6');
LINK_LOCAL.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud metadata

const UNSPECIFIED = new BlockList();
UNSPECIFIED.addAddress('0.0.0.0', 'ipv4');
UNSPECIFIED.addAddress('::', 'ipv6');

/**
 * Checks a webhook callback URL and every address its host resolves to.
 * Called at creation and again before each delivery, so that a DNS name
 * re-pointed at a metadata service later is refused too.
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
      addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
    } catch (error) {
      throw new InvalidInputError(`callback_url host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  for (const address of addresses) {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (UNSPECIFIED.check(address, family)) throw new InvalidInputError(`callback_url resolves to ${address}, which is not a host`);
    if (!policy.allowLinkLocal && LINK_LOCAL.check(address, family)) {
      throw new InvalidInputError(
        `callback_url resolves to ${address}, a link-local or metadata address; refused unless webhooks.allow_link_local is true`,
      );
    }
    if (!policy.allowLoopback && LOOPBACK.check(address, family)) {
      throw new InvalidInputError(`callback_url resolves to ${address}, a loopback address; refused unless webhooks.allow_loopback is true`);
    }
  }
  return url;
}
