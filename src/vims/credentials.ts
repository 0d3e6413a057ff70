import { createPrivateKey, X509Certificate } from 'node:crypto';
import { InvalidInputError, quoteAttribute } from '../errors.js';
import type { SecretCipher } from '../secrets/cipher.js';
import type { AuthCred, VimType } from './model.js';

/** Values that are encrypted at rest and shown as MASK in every response. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'bearer_token',
  'client_secret',
  'client_key',
  'client_cert',
  'ssl_ca_cert',
]);
export const MASK = '***';

/**
 * Fields Tacker adds to auth_cred in its responses. Clients that send a VIM
 * back as they received it must not be refused for them, so they are
 * accepted and dropped: the server recomputes them from the VIM.
 */
const DERIVED_FIELDS: ReadonlySet<string> = new Set([
  'auth_url',
  'project_id',
  'project_name',
  'project_domain_name',
  'key_type',
  'secret_uuid',
]);

const COMMON_FIELDS = ['cert_verify', 'ssl_ca_cert'] as const;
const OPENSTACK_FIELDS = new Set(['username', 'password', 'user_domain_name', 'user_id', ...COMMON_FIELDS]);

/** Kubernetes authentication methods and the fields each one owns. */
const KUBERNETES_METHODS = {
  oidc: ['oidc_token_url', 'client_id', 'client_secret', 'username', 'password'],
  bearer_token: ['bearer_token'],
  client_certificate: ['client_cert', 'client_key'],
  basic: ['username', 'password'],
} as const;
type KubernetesMethod = keyof typeof KUBERNETES_METHODS;
const KUBERNETES_FIELDS = new Set<string>([...COMMON_FIELDS, ...Object.values(KUBERNETES_METHODS).flat()]);

const MAX_VALUE_LENGTH = 65_536;

/** Checks a credential document for a VIM type and returns it normalised (plain values). */
export function validateAuthCred(type: VimType, raw: Record<string, unknown>): AuthCred {
  const cred = normaliseValues(raw, type === 'openstack' ? OPENSTACK_FIELDS : KUBERNETES_FIELDS, type);
  if (cred.ssl_ca_cert !== undefined) checkCertificates(cred.ssl_ca_cert, 'auth_cred.ssl_ca_cert');
  if (type === 'openstack') {
    requireFields(cred, ['username', 'password'], 'an OpenStack VIM');
    cred.user_domain_name = cred.user_domain_name || 'Default';
    return cred;
  }
  const method = kubernetesMethod(cred);
  if (method === 'oidc') {
    requireFields(cred, ['oidc_token_url', 'client_id', 'username', 'password'], 'OIDC authentication');
    checkHttpUrl(cred.oidc_token_url as string, 'auth_cred.oidc_token_url');
  } else if (method === 'client_certificate') {
    requireFields(cred, ['client_cert', 'client_key'], 'client certificate authentication');
    checkCertificates(cred.client_cert as string, 'auth_cred.client_cert');
    checkPrivateKey(cred.client_key as string);
  } else if (method === 'basic') {
    requireFields(cred, ['username', 'password'], 'basic authentication');
  } else {
    requireFields(cred, ['bearer_token'], 'token authentication');
  }
  return cred;
}

/**
 * Applies an update the way Tacker does: given fields replace stored ones.
 * A Kubernetes update that switches to another authentication method drops
 * the old method's fields (switching from a token to a certificate leaves no
 * stale token behind); an update within the same method merges. A secret
 * sent back as MASK keeps its stored value; null removes a field.
 */
export function mergeAuthCred(type: VimType, current: AuthCred, update: Record<string, unknown>): AuthCred {
  const merged: Record<string, unknown> = { ...current };
  if (type === 'kubernetes') {
    const next = impliedMethod(update, kubernetesMethod(current));
    if (next !== undefined && next !== kubernetesMethod(current)) {
      for (const fields of Object.values(KUBERNETES_METHODS)) for (const field of fields) delete merged[field];
    }
  }
  for (const [key, value] of Object.entries(update)) {
    if (DERIVED_FIELDS.has(key)) continue;
    if (value === MASK && SECRET_FIELDS.has(key)) {
      if (current[key] === undefined) throw new InvalidInputError(`auth_cred.${key}: '${MASK}' keeps a stored secret, but none is stored`);
      merged[key] = current[key];
      continue;
    }
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return validateAuthCred(type, merged);
}

/** The method an update's fields point to; username/password alone stay within OIDC when that is the current method. */
function impliedMethod(update: Record<string, unknown>, current: KubernetesMethod): KubernetesMethod | undefined {
  const named = (fields: readonly string[]) => fields.some((field) => update[field] !== undefined && update[field] !== null);
  if (named(['oidc_token_url', 'client_id', 'client_secret'])) return 'oidc';
  if (named(['bearer_token'])) return 'bearer_token';
  if (named(['client_cert', 'client_key'])) return 'client_certificate';
  if (named(['username', 'password'])) return current === 'oidc' ? 'oidc' : 'basic';
  return undefined;
}

export function sealAuthCred(cred: AuthCred, cipher: SecretCipher): AuthCred {
  return mapSecrets(cred, (value) => cipher.encrypt(value));
}

export function openAuthCred(sealed: AuthCred, cipher: SecretCipher): AuthCred {
  return mapSecrets(sealed, (value) => cipher.decrypt(value));
}

export function maskAuthCred(sealed: AuthCred): AuthCred {
  return mapSecrets(sealed, () => MASK);
}

function mapSecrets(cred: AuthCred, transform: (value: string) => string): AuthCred {
  const out: AuthCred = {};
  for (const [key, value] of Object.entries(cred)) out[key] = SECRET_FIELDS.has(key) ? transform(value) : value;
  return out;
}

function normaliseValues(raw: Record<string, unknown>, allowed: ReadonlySet<string>, type: VimType): AuthCred {
  const cred: AuthCred = {};
  for (const [key, value] of Object.entries(raw)) {
    if (DERIVED_FIELDS.has(key)) continue;
    if (!allowed.has(key)) throw new InvalidInputError(`Unrecognized attribute ${quoteAttribute('auth_cred', key)} for ${type === 'openstack' ? 'an OpenStack' : 'a Kubernetes'} VIM`);
    if (key === 'cert_verify') {
      cred.cert_verify = normaliseCertVerify(value);
      continue;
    }
    if (typeof value !== 'string') throw new InvalidInputError(`auth_cred.${key} must be a string`);
    if (value.length > MAX_VALUE_LENGTH) throw new InvalidInputError(`auth_cred.${key} is longer than ${MAX_VALUE_LENGTH} characters`);
    if (value === '') continue; // the CLI sends '' for options left out of vim_config.yaml
    cred[key] = value;
  }
  return cred;
}

/** Tacker stores 'True'/'False' strings; booleans and other casings are accepted. */
function normaliseCertVerify(value: unknown): string {
  if (value === true || (typeof value === 'string' && value.toLowerCase() === 'true')) return 'True';
  if (value === false || (typeof value === 'string' && value.toLowerCase() === 'false')) return 'False';
  throw new InvalidInputError("auth_cred.cert_verify must be 'True' or 'False'");
}

function kubernetesMethod(cred: AuthCred): KubernetesMethod {
  const present: KubernetesMethod[] = [];
  if (cred.oidc_token_url !== undefined || cred.client_id !== undefined || cred.client_secret !== undefined) present.push('oidc');
  if (cred.bearer_token !== undefined) present.push('bearer_token');
  if (cred.client_cert !== undefined || cred.client_key !== undefined) present.push('client_certificate');
  // username/password belong to OIDC when it is the method; alongside anything else they are a second method.
  if (!present.includes('oidc') && (cred.username !== undefined || cred.password !== undefined)) present.push('basic');
  if (present.length === 0) {
    throw new InvalidInputError(
      'A Kubernetes VIM needs one authentication method in auth_cred: bearer_token, username/password, OIDC (oidc_token_url, client_id, username, password) or client_cert/client_key',
    );
  }
  if (present.length > 1) {
    throw new InvalidInputError(`auth_cred mixes authentication methods (${present.join(', ')}); give exactly one`);
  }
  return present[0] as KubernetesMethod;
}

function requireFields(cred: AuthCred, fields: readonly string[], what: string): void {
  const missing = fields.filter((field) => cred[field] === undefined);
  if (missing.length > 0) {
    throw new InvalidInputError(`auth_cred of ${what} needs ${missing.map((f) => `'${f}'`).join(', ')}`);
  }
}

function checkHttpUrl(value: string, where: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidInputError(`${where} must be an absolute http(s) URL`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Accepts one or more PEM certificates; the message never quotes the value. */
function checkCertificates(pem: string, where: string): void {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new InvalidInputError(`${where} must hold one or more PEM certificates`);
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new InvalidInputError(`${where}: certificate ${index + 1} of ${blocks.length} is not a valid X.509 certificate`);
    }
  });
}

function checkPrivateKey(pem: string): void {
  try {
    createPrivateKey(pem);
  } catch {
    throw new InvalidInputError('auth_cred.client_key must be a PEM private key (unencrypted)');
  }
}
