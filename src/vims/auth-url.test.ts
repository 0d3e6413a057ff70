import { describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../test/support/assertions.js';
import { normaliseAuthUrl } from './auth-url.js';


describe('normaliseAuthUrl for OpenStack', () => {
  it('appends /v3 to an OpenStack auth_url without a version', () => {
    expect(normaliseAuthUrl('http://192.0.2.10:5000', 'openstack')).toBe('http://192.0.2.10:5000/v3');
  });

  it('appends /v3 once after dropping a trailing slash', () => {
    expect(normaliseAuthUrl('http://192.0.2.10:5000/', 'openstack')).toBe('http://192.0.2.10:5000/v3');
    expect(normaliseAuthUrl('http://192.0.2.10:5000//', 'openstack')).toBe('http://192.0.2.10:5000/v3');
  });

  it('leaves an auth_url that already ends in /v3 untouched', () => {
    expect(normaliseAuthUrl('https://keystone.example.com:5000/v3', 'openstack')).toBe('https://keystone.example.com:5000/v3');
  });

  it('drops the trailing slash of an auth_url ending in /v3/ without adding another /v3', () => {
    expect(normaliseAuthUrl('https://keystone.example.com/v3/', 'openstack')).toBe('https://keystone.example.com/v3');
  });

  it('appends /v3 after a path prefix such as /identity', () => {
    expect(normaliseAuthUrl('http://h/identity', 'openstack')).toBe('http://h/identity/v3');
    expect(normaliseAuthUrl('http://h/identity/', 'openstack')).toBe('http://h/identity/v3');
  });

  it('keeps /identity/v3 as it is', () => {
    expect(normaliseAuthUrl('http://h/identity/v3', 'openstack')).toBe('http://h/identity/v3');
  });

  it('does not take a path that merely ends in "v3" for a version', () => {
    expect(normaliseAuthUrl('http://h/keystonev3', 'openstack')).toBe('http://h/keystonev3/v3');
  });

  it('accepts an IPv6 literal with a port', () => {
    expect(normaliseAuthUrl('http://[fd00::1]:5000', 'openstack')).toBe('http://[fd00::1]:5000/v3');
  });

  it('accepts a full IPv6 literal without a port over https', () => {
    expect(normaliseAuthUrl('https://[2001:db8:0:0:0:0:0:1]/identity', 'openstack')).toBe(
      'https://[2001:db8:0:0:0:0:0:1]/identity/v3',
    );
  });

  it('accepts plain and dotted host names', () => {
    expect(normaliseAuthUrl('http://controller:5000', 'openstack')).toBe('http://controller:5000/v3');
    expect(normaliseAuthUrl('https://keystone.region-1.cloud.example.org', 'openstack')).toBe(
      'https://keystone.region-1.cloud.example.org/v3',
    );
  });

  it('trims surrounding whitespace before validating', () => {
    expect(normaliseAuthUrl('  http://controller:5000 \n', 'openstack')).toBe('http://controller:5000/v3');
  });
});

describe('normaliseAuthUrl for Kubernetes', () => {
  it('leaves a Kubernetes auth_url unchanged', () => {
    expect(normaliseAuthUrl('https://192.0.2.20:6443', 'kubernetes')).toBe('https://192.0.2.20:6443');
  });

  it('only drops the trailing slash of a Kubernetes auth_url', () => {
    expect(normaliseAuthUrl('https://192.0.2.20:6443/', 'kubernetes')).toBe('https://192.0.2.20:6443');
    expect(normaliseAuthUrl('https://k8s.example/api/', 'kubernetes')).toBe('https://k8s.example/api');
  });

  it('does not append /v3 to a Kubernetes auth_url', () => {
    expect(normaliseAuthUrl('https://k8s.example', 'kubernetes')).not.toMatch(/\/v3$/);
  });

  it('accepts an IPv6 literal for Kubernetes', () => {
    expect(normaliseAuthUrl('https://[fd00::1]:6443/', 'kubernetes')).toBe('https://[fd00::1]:6443');
  });
});

describe('normaliseAuthUrl refusals', () => {
  it('refuses an empty auth_url', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('', 'openstack'))).toBe('Invalid auth_url: it must not be empty');
  });

  it('refuses an auth_url of only whitespace', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('   ', 'kubernetes'))).toBe('Invalid auth_url: it must not be empty');
  });

  it('refuses a relative auth_url', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('/identity/v3', 'openstack'))).toBe(
      "Invalid auth_url '/identity/v3': not an absolute URL",
    );
  });

  it('refuses a host and port without a scheme', () => {
    // WHATWG parses "controller:5000" as scheme "controller:".
    expect(invalidInputOf(() => normaliseAuthUrl('controller:5000', 'openstack'))).toBe(
      "Invalid auth_url 'controller://…': the scheme must be http or https",
    );
  });

  it('refuses an auth_url without a host, which the URL parser would read as host "v3"', () => {
    for (const value of ['http:///v3', 'https:///keystone/v3', 'http:////keystone:5000/v3']) {
      expect(invalidInputOf(() => normaliseAuthUrl(value, 'openstack'))).toBe(`Invalid auth_url '${value}': no host`);
    }
  });

  it('refuses an ftp:// auth_url', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('ftp://files.example/v3', 'openstack'))).toBe(
      "Invalid auth_url 'ftp://…': the scheme must be http or https",
    );
  });

  it('refuses a port out of range', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http://h:70000', 'kubernetes'))).toBe(
      "Invalid auth_url 'http://h:70000': not an absolute URL",
    );
  });

  it('refuses user:pass@ in the URL without showing the password', () => {
    const message = invalidInputOf(() => normaliseAuthUrl('http://admin:Sup3rSecret@192.0.2.10:5000', 'openstack'));
    expect(message).toBe('Invalid auth_url: user information in the URL is not allowed; put credentials in auth_cred');
    expect(message).not.toContain('Sup3rSecret');
  });

  it('refuses a user name alone in the URL', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('https://admin@k8s.example', 'kubernetes'))).toBe(
      'Invalid auth_url: user information in the URL is not allowed; put credentials in auth_cred',
    );
  });

  it('refuses user:pass@ without a host, still without showing the password', () => {
    const message = invalidInputOf(() => normaliseAuthUrl('http://admin:Sup3rSecret@', 'openstack'));
    expect(message).toBe('Invalid auth_url: not an absolute URL');
    expect(message).not.toContain('Sup3rSecret');
  });

  it('refuses a query string', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http://h:5000/v3?region=one', 'openstack'))).toBe(
      "Invalid auth_url 'http://h:5000/v3?region=one': query strings and fragments are not allowed",
    );
  });

  it('refuses an empty query string that would otherwise end up before the appended /v3', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http://h:5000?', 'openstack'))).toBe(
      "Invalid auth_url 'http://h:5000?': query strings and fragments are not allowed",
    );
  });

  it('refuses an empty fragment', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('https://k8s.example/#', 'kubernetes'))).toBe(
      "Invalid auth_url 'https://k8s.example/#': query strings and fragments are not allowed",
    );
  });

  it('refuses a fragment', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('https://k8s.example#x', 'kubernetes'))).toBe(
      "Invalid auth_url 'https://k8s.example#x': query strings and fragments are not allowed",
    );
  });

  it('refuses an auth_url longer than 2048 characters without echoing it', () => {
    const long = `http://h/${'a'.repeat(2048)}`;
    const message = invalidInputOf(() => normaliseAuthUrl(long, 'openstack'));
    expect(message).toBe('Invalid auth_url: longer than 2048 characters');
  });

  it('accepts an auth_url of exactly 2048 characters', () => {
    const url = `http://h/${'a'.repeat(2048 - 'http://h/'.length)}`;
    expect(url).toHaveLength(2048);
    expect(normaliseAuthUrl(url, 'kubernetes')).toBe(url);
  });

  it('refuses a tab inside the URL that the URL parser would silently drop', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http://control\tler:5000', 'openstack'))).toBe(
      'Invalid auth_url: it must not contain whitespace, control characters or backslashes',
    );
  });

  it('refuses a line break inside the URL', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http://controller:5000/\nv3', 'openstack'))).toBe(
      'Invalid auth_url: it must not contain whitespace, control characters or backslashes',
    );
  });

  it('refuses backslashes, which the URL parser reads as slashes', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http:\\\\evil.example\\v3', 'openstack'))).toBe(
      'Invalid auth_url: it must not contain whitespace, control characters or backslashes',
    );
  });

  it('refuses a scheme without // that the URL parser would still accept', () => {
    expect(invalidInputOf(() => normaliseAuthUrl('http:controller:5000', 'openstack'))).toBe(
      "Invalid auth_url 'http:controller:5000': it must start with http://",
    );
  });

  it('refuses user:pass@ in a URL without // and still does not show the password', () => {
    const message = invalidInputOf(() => normaliseAuthUrl('https:admin:Sup3rSecret@k8s.example', 'kubernetes'));
    expect(message).toBe('Invalid auth_url: user information in the URL is not allowed; put credentials in auth_cred');
  });

  it('accepts an upper-case scheme and keeps the value as given', () => {
    expect(normaliseAuthUrl('HTTPS://Keystone.Example:5000', 'openstack')).toBe('HTTPS://Keystone.Example:5000/v3');
  });
});
