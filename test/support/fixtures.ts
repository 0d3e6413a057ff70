import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VimCreateInput } from '../../src/vims/model.js';

/** A real self-signed certificate and its key, made with openssl for the credential tests. */
export function makeCertificate(commonName = 'vim-monitor-test'): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vim-monitor-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', `/CN=${commonName}`,
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function openstackVim(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'edge-1',
    type: 'openstack',
    auth_url: 'http://127.0.0.1:5000',
    auth_cred: { username: 'nfv_user', password: 'pw-not-shown', user_domain_name: 'Default', cert_verify: 'True' },
    vim_project: { name: 'nfv', project_domain_name: 'Default' },
    ...overrides,
  };
}

export function kubernetesVim(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'k8s-1',
    type: 'kubernetes',
    auth_url: 'https://127.0.0.1:6443',
    auth_cred: { bearer_token: 'token-not-shown' },
    vim_project: { name: 'default' },
    ...overrides,
  };
}

/** The registry's input for an OpenStack VIM (what the API hands it), for tests below the HTTP layer. */
export function openstackInput(name: string, overrides: Partial<VimCreateInput> = {}): VimCreateInput {
  const wire = openstackVim({ name });
  return {
    name,
    type: 'openstack',
    authUrl: wire.auth_url as string,
    authCred: wire.auth_cred as Record<string, unknown>,
    vimProject: wire.vim_project as Record<string, unknown>,
    ...overrides,
  };
}
