import { BlockList } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { AddressPolicy, cidrListProblem, LINK_LOCAL_AND_METADATA_CIDRS, parseCidr } from './address-policy.js';

const builtIn = { builtInDeny: LINK_LOCAL_AND_METADATA_CIDRS };

describe('AddressPolicy', () => {
  it('refuses link-local, metadata and unspecified addresses by default and allows the rest', () => {
    const policy = new AddressPolicy(builtIn);
    for (const refused of ['169.254.169.254', '169.254.1.1', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '0.0.0.0', '::', '0.1.2.3']) {
      expect(policy.refuses(refused), refused).toBe(true);
    }
    for (const allowed of ['127.0.0.1', '::1', '10.0.0.1', '100.100.100.201', 'fd00:ec2::253', '2001:db8::1']) expect(policy.refuses(allowed), allowed).toBe(false);
  });

  it('judges an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    const policy = new AddressPolicy(builtIn);
    expect(policy.refuses('::ffff:169.254.169.254')).toBe(true);
    expect(policy.refuses('::ffff:a9fe:a9fe')).toBe(true);
    expect(policy.refuses('::ffff:0.0.0.0')).toBe(true);
    expect(policy.refuses('::ffff:127.0.0.1')).toBe(false);
  });

  it('lets the most specific CIDR decide, so an allow reopens only what it names', () => {
    const policy = new AddressPolicy({ ...builtIn, denyCidrs: ['198.18.0.0/15', '10.0.0.0/8'], allowCidrs: ['169.254.0.0/16', '10.1.2.0/24', '0.0.0.0/0'] });
    expect(policy.refuses('169.254.7.7')).toBe(false); // the allow /16 beats the built-in /16 on a tie
    expect(policy.refuses('169.254.169.254')).toBe(true); // the built-in /32 is more specific than the allow
    expect(policy.refuses('10.1.2.3')).toBe(false);
    expect(policy.refuses('10.1.3.3')).toBe(true);
    expect(policy.refuses('198.19.0.1')).toBe(true); // 0.0.0.0/0 reopens nothing a longer deny covers
    expect(new AddressPolicy({ ...builtIn, allowCidrs: ['169.254.169.254/32'] }).refuses('169.254.169.254')).toBe(false);
    expect(new AddressPolicy({ allowCidrs: ['0.0.0.0/0'] }).refuses('0.0.0.0')).toBe(true); // never the unspecified address
  });

  it('prefers deny when a configured allow and deny name the same CIDR', () => {
    expect(new AddressPolicy({ denyCidrs: ['127.0.0.3/32'], allowCidrs: ['127.0.0.3/32'] }).refuses('127.0.0.3')).toBe(true);
  });

  it('turns every IPv6 address away with an IPv6 catch-all deny and keeps IPv4 untouched', () => {
    const policy = new AddressPolicy({ denyCidrs: ['::/0'], allowCidrs: ['2001:db8::/32'] });
    expect(policy.refuses('2001:db9::1')).toBe(true);
    expect(policy.refuses('2001:db8::1')).toBe(false);
    expect(policy.refuses('192.0.2.1')).toBe(false);
  });
});

describe('AddressPolicy verdicts', () => {
  it('judges an address it has judged before from memory, with the same verdict, and judges every other address afresh', () => {
    const policy = new AddressPolicy({ builtInDeny: LINK_LOCAL_AND_METADATA_CIDRS, denyCidrs: ['10.0.0.0/8'], allowCidrs: ['10.1.0.0/16'] });
    const check = vi.spyOn(BlockList.prototype, 'check');
    try {
      const first = ['10.2.3.4', '10.1.2.3', '169.254.169.254', '192.0.2.1', '::ffff:10.2.3.4'].map((address) => policy.refuses(address));
      expect(first).toEqual([true, false, true, false, true]);
      const checks = check.mock.calls.length;
      expect(checks).toBeGreaterThan(0);
      const again = ['10.2.3.4', '10.1.2.3', '169.254.169.254', '192.0.2.1', '::ffff:10.2.3.4'].map((address) => policy.refuses(address));
      expect(again).toEqual(first);
      expect(check.mock.calls.length).toBe(checks);
      expect(policy.refuses('10.2.3.5')).toBe(true);
      expect(check.mock.calls.length).toBeGreaterThan(checks);
    } finally {
      check.mockRestore();
    }
  });
});

describe('parseCidr and cidrListProblem', () => {
  it('reads CIDRs and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('fd00::1')).toEqual({ address: 'fd00::1', prefix: 128, family: 'ipv6' });
  });

  it('names the key, the index and the value of a bad entry', () => {
    expect(cidrListProblem('egress.deny_cidrs', ['10.0.0.0/8', '10.0.0.0/33'])).toBe(
      "configuration key egress.deny_cidrs[1]: '10.0.0.0/33' has an invalid prefix length (0 to 32 for IPv4)",
    );
    expect(cidrListProblem('egress.allow_cidrs', ['intranet'])).toMatch(/^configuration key egress\.allow_cidrs\[0\]: 'intranet' is not an IP address/);
    expect(cidrListProblem('egress.allow_cidrs', ['10.0.0.0/8/8'])).toMatch(/is not an IP address or CIDR/);
    expect(cidrListProblem('egress.allow_cidrs', ['10.0.0.0/-1'])).toMatch(/invalid prefix length/);
    expect(cidrListProblem('egress.deny_cidrs', [])).toBeUndefined();
  });
});
