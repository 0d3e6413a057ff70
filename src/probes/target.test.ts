import { describe, expect, it } from 'vitest';
import { vimRecord } from '../../test/support/probe-target.js';
import { probeTargetOf } from './target.js';

describe('probeTargetOf', () => {
  it('takes host and explicit port from an IPv4 auth_url', () => {
    const target = probeTargetOf(vimRecord('openstack', 'http://192.0.2.10:5000/v3'), { username: 'u', password: 'p' });
    expect(target).toMatchObject({ host: '192.0.2.10', port: 5000, authUrl: 'http://192.0.2.10:5000/v3', type: 'openstack' });
  });

  it('strips the brackets of an IPv6 literal and keeps its port', () => {
    const target = probeTargetOf(vimRecord('kubernetes', 'https://[fd00::1]:6443'), { bearer_token: 't' });
    expect(target.host).toBe('fd00::1');
    expect(target.port).toBe(6443);
  });

  it('uses the default port of the scheme when the URL names none', () => {
    expect(probeTargetOf(vimRecord('openstack', 'https://keystone.example/identity/v3'), {}).port).toBe(443);
    expect(probeTargetOf(vimRecord('openstack', 'http://keystone.example/identity/v3'), {}).port).toBe(80);
  });

  it('keeps a host name of a URL with a path as a host name', () => {
    const target = probeTargetOf(vimRecord('kubernetes', 'https://rancher.example:8443/k8s/clusters/c-1'), {});
    expect(target).toMatchObject({ host: 'rancher.example', port: 8443 });
  });

  it("verifies TLS unless cert_verify is 'False', and carries ssl_ca_cert as the CA", () => {
    const url = 'https://keystone.example/v3';
    expect(probeTargetOf(vimRecord('openstack', url), {}).tls).toEqual({ verify: true });
    expect(probeTargetOf(vimRecord('openstack', url), { cert_verify: 'True' }).tls).toEqual({ verify: true });
    expect(probeTargetOf(vimRecord('openstack', url), { cert_verify: 'False' }).tls).toEqual({ verify: false });
    expect(probeTargetOf(vimRecord('openstack', url), { ssl_ca_cert: 'PEM' }).tls).toEqual({ verify: true, ca: 'PEM' });
  });

  it('passes credentials and project through for the auth probe', () => {
    const vim = vimRecord('openstack', 'http://127.0.0.1:5000/v3', { name: 'nfv', project_domain_name: 'Default' });
    const target = probeTargetOf(vim, { username: 'alice', password: 'secret' });
    expect(target.vimId).toBe(vim.id);
    expect(target.credentials).toEqual({ username: 'alice', password: 'secret' });
    expect(target.project).toEqual({ name: 'nfv', project_domain_name: 'Default' });
  });
});
