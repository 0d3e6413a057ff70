import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { invalidInputOf } from '../../test/support/assertions.js';
import { makeCertificate } from '../../test/support/fixtures.js';
import { InternalError } from '../errors.js';
import { SecretCipher } from '../secrets/cipher.js';
import {
  MASK,
  SECRET_FIELDS,
  maskAuthCred,
  mergeAuthCred,
  openAuthCred,
  sealAuthCred,
  validateAuthCred,
} from './credentials.js';


let cert: string;
let key: string;
let otherCert: string;

beforeAll(() => {
  ({ cert, key } = makeCertificate('vim-monitor-client'));
  otherCert = makeCertificate('vim-monitor-ca').cert;
});

/** A PEM block that looks like a certificate but whose body is not DER. */
const BROKEN_CERT = '-----BEGIN CERTIFICATE-----\nTm90QUNlcnRpZmljYXRlQnV0U2VjcmV0Qnl0ZXM=\n-----END CERTIFICATE-----\n';

describe('validateAuthCred for OpenStack', () => {
  it('accepts username and password and defaults user_domain_name to Default', () => {
    expect(validateAuthCred('openstack', { username: 'nfv_user', password: 'pw' })).toEqual({
      username: 'nfv_user',
      password: 'pw',
      user_domain_name: 'Default',
    });
  });

  it('keeps a given user_domain_name, user_id and ssl_ca_cert', () => {
    expect(
      validateAuthCred('openstack', { username: 'u', password: 'p', user_domain_name: 'ldap', user_id: 'abc123', ssl_ca_cert: cert }),
    ).toEqual({ username: 'u', password: 'p', user_domain_name: 'ldap', user_id: 'abc123', ssl_ca_cert: cert });
  });

  it('needs a password', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u' }))).toBe(
      "auth_cred of an OpenStack VIM needs 'password'",
    );
  });

  it('needs a username and a password, naming both when both are missing', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', {}))).toBe(
      "auth_cred of an OpenStack VIM needs 'username', 'password'",
    );
  });

  it('normalises cert_verify true (boolean) to the string True', () => {
    expect(validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: true }).cert_verify).toBe('True');
  });

  it("normalises cert_verify 'true' to True and 'False' to False", () => {
    expect(validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: 'true' }).cert_verify).toBe('True');
    expect(validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: 'False' }).cert_verify).toBe('False');
    expect(validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: false }).cert_verify).toBe('False');
    expect(validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: 'FALSE' }).cert_verify).toBe('False');
  });

  it("refuses a cert_verify that is neither True nor False (e.g. 'yes' or 1)", () => {
    const message = "auth_cred.cert_verify must be 'True' or 'False'";
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: 'yes' }))).toBe(message);
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'p', cert_verify: 1 }))).toBe(message);
  });

  it('refuses an unknown key, naming auth_cred.<key>', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'p', tenant: 'x' }))).toBe(
      "Unrecognized attribute 'auth_cred.tenant' for an OpenStack VIM",
    );
  });

  it('refuses a Kubernetes-only key such as bearer_token on an OpenStack VIM', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'p', bearer_token: 't' }))).toMatch(
      /^Unrecognized attribute 'auth_cred\.bearer_token'/,
    );
  });

  it('drops the derived keys Tacker adds to responses', () => {
    const cred = validateAuthCred('openstack', {
      username: 'u',
      password: 'p',
      auth_url: 'http://h:5000/v3',
      project_name: 'nfv',
      key_type: 'barbican_key',
      secret_uuid: '***',
      project_id: 'p-1',
      project_domain_name: 'Default',
    });
    expect(cred).toEqual({ username: 'u', password: 'p', user_domain_name: 'Default' });
  });

  it('drops empty strings, as the CLI sends them for options left out', () => {
    const cred = validateAuthCred('openstack', { username: 'u', password: 'p', user_domain_name: '', ssl_ca_cert: '', user_id: '' });
    expect(cred).toEqual({ username: 'u', password: 'p', user_domain_name: 'Default' });
  });

  it('treats an empty password as missing', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: '' }))).toBe(
      "auth_cred of an OpenStack VIM needs 'password'",
    );
  });

  it('refuses a non-string password without echoing it', () => {
    const message = invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 918273645 }));
    expect(message).toBe('auth_cred.password must be a string');
    expect(message).not.toContain('918273645');
  });

  it('refuses a value longer than 65536 characters', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'x'.repeat(65_537) }))).toBe(
      'auth_cred.password is longer than 65536 characters',
    );
  });

  it('does not modify the object it was given', () => {
    const raw = { username: 'u', password: 'p', cert_verify: true, auth_url: 'http://h' };
    validateAuthCred('openstack', raw);
    expect(raw).toEqual({ username: 'u', password: 'p', cert_verify: true, auth_url: 'http://h' });
  });
});

describe('validateAuthCred for Kubernetes', () => {
  it('accepts a bearer token alone', () => {
    expect(validateAuthCred('kubernetes', { bearer_token: 'tok' })).toEqual({ bearer_token: 'tok' });
  });

  it('does not add user_domain_name to a Kubernetes credential', () => {
    expect(validateAuthCred('kubernetes', { username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p' });
  });

  it('refuses basic authentication without a password', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { username: 'u' }))).toBe(
      "auth_cred of basic authentication needs 'password'",
    );
  });

  it('accepts OIDC with token url, client id, username and password, without a client secret', () => {
    const oidc = { oidc_token_url: 'https://idp.example/realms/k8s/token', client_id: 'kubernetes', username: 'u', password: 'p' };
    expect(validateAuthCred('kubernetes', oidc)).toEqual(oidc);
  });

  it('accepts OIDC with a client secret and an http token url', () => {
    const oidc = { oidc_token_url: 'http://idp.example/token', client_id: 'k8s', client_secret: 'cs', username: 'u', password: 'p' };
    expect(validateAuthCred('kubernetes', oidc)).toEqual(oidc);
  });

  it('refuses OIDC without client_id, username and password, naming each', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { oidc_token_url: 'https://idp.example/token' }))).toBe(
      "auth_cred of OIDC authentication needs 'client_id', 'username', 'password'",
    );
  });

  it('refuses OIDC without a token url', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { client_id: 'k8s', username: 'u', password: 'p' }))).toBe(
      "auth_cred of OIDC authentication needs 'oidc_token_url'",
    );
  });

  it('refuses an OIDC token url that is not http(s)', () => {
    const cred = { oidc_token_url: 'ftp://idp.example/token', client_id: 'k8s', username: 'u', password: 'p' };
    expect(invalidInputOf(() => validateAuthCred('kubernetes', cred))).toBe('auth_cred.oidc_token_url must be an absolute http(s) URL');
  });

  it('refuses an OIDC token url that is not a URL at all', () => {
    const cred = { oidc_token_url: 'idp.example/token', client_id: 'k8s', username: 'u', password: 'p' };
    expect(invalidInputOf(() => validateAuthCred('kubernetes', cred))).toBe('auth_cred.oidc_token_url must be an absolute http(s) URL');
  });

  it('accepts a real client certificate and its private key', () => {
    expect(validateAuthCred('kubernetes', { client_cert: cert, client_key: key })).toEqual({ client_cert: cert, client_key: key });
  });

  it('refuses a client certificate without its key', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { client_cert: cert }))).toBe(
      "auth_cred of client certificate authentication needs 'client_key'",
    );
  });

  it('refuses a client key that is not a private key, without echoing it', () => {
    const message = invalidInputOf(() => validateAuthCred('kubernetes', { client_cert: cert, client_key: 'not-a-key-secret' }));
    expect(message).toBe('auth_cred.client_key must be a PEM private key (unencrypted)');
    expect(message).not.toContain('not-a-key-secret');
  });

  it('refuses a certificate given as the client key', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { client_cert: cert, client_key: cert }))).toBe(
      'auth_cred.client_key must be a PEM private key (unencrypted)',
    );
  });

  it('refuses a private key given as the client certificate, without echoing the key', () => {
    const message = invalidInputOf(() => validateAuthCred('kubernetes', { client_cert: key, client_key: key }));
    expect(message).toBe('auth_cred.client_cert must hold one or more PEM certificates');
    expect(message).not.toContain('PRIVATE KEY');
  });

  it('accepts an ssl_ca_cert with one PEM certificate', () => {
    expect(validateAuthCred('kubernetes', { bearer_token: 't', ssl_ca_cert: otherCert }).ssl_ca_cert).toBe(otherCert);
  });

  it('accepts an ssl_ca_cert with two PEM certificates (a chain)', () => {
    const chain = `${cert}${otherCert}`;
    expect(validateAuthCred('kubernetes', { bearer_token: 't', ssl_ca_cert: chain }).ssl_ca_cert).toBe(chain);
  });

  it('refuses an ssl_ca_cert without any PEM block, not echoing the value', () => {
    const message = invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: 't', ssl_ca_cert: 'garbage-ca-value' }));
    expect(message).toBe('auth_cred.ssl_ca_cert must hold one or more PEM certificates');
    expect(message).not.toContain('garbage-ca-value');
  });

  it('refuses an ssl_ca_cert whose second certificate is broken, saying which one', () => {
    const message = invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: 't', ssl_ca_cert: `${cert}${BROKEN_CERT}` }));
    expect(message).toBe('auth_cred.ssl_ca_cert: certificate 2 of 2 is not a valid X.509 certificate');
    expect(message).not.toContain('Tm90QUNlcnRpZmljYXRl');
  });

  it('refuses an invalid ssl_ca_cert on an OpenStack VIM too', () => {
    expect(invalidInputOf(() => validateAuthCred('openstack', { username: 'u', password: 'p', ssl_ca_cert: BROKEN_CERT }))).toBe(
      'auth_cred.ssl_ca_cert: certificate 1 of 1 is not a valid X.509 certificate',
    );
  });

  it('refuses a broken client certificate, not echoing it', () => {
    const message = invalidInputOf(() => validateAuthCred('kubernetes', { client_cert: BROKEN_CERT, client_key: key }));
    expect(message).toBe('auth_cred.client_cert: certificate 1 of 1 is not a valid X.509 certificate');
  });

  it('refuses a bearer token mixed with a client certificate', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: 't', client_cert: cert, client_key: key }))).toBe(
      'auth_cred mixes authentication methods (bearer_token, client_certificate); give exactly one',
    );
  });

  it('refuses OIDC mixed with a bearer token', () => {
    const cred = { oidc_token_url: 'https://idp/token', client_id: 'c', username: 'u', password: 'p', bearer_token: 't' };
    expect(invalidInputOf(() => validateAuthCred('kubernetes', cred))).toBe(
      'auth_cred mixes authentication methods (oidc, bearer_token); give exactly one',
    );
  });

  it('refuses a bearer token mixed with username and password', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: 't', username: 'u', password: 'p' }))).toBe(
      'auth_cred mixes authentication methods (bearer_token, basic); give exactly one',
    );
  });

  it('refuses a credential with no authentication method', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { cert_verify: 'True', ssl_ca_cert: cert }))).toMatch(
      /^A Kubernetes VIM needs one authentication method in auth_cred: bearer_token, username\/password, OIDC/,
    );
  });

  it('refuses an empty credential', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', {}))).toMatch(/^A Kubernetes VIM needs one authentication method/);
  });

  it('treats an empty bearer token as no method', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: '' }))).toMatch(
      /^A Kubernetes VIM needs one authentication method/,
    );
  });

  it('refuses an OpenStack-only key such as user_domain_name on a Kubernetes VIM', () => {
    expect(invalidInputOf(() => validateAuthCred('kubernetes', { bearer_token: 't', user_domain_name: 'Default' }))).toBe(
      "Unrecognized attribute 'auth_cred.user_domain_name' for a Kubernetes VIM",
    );
  });

  it('drops derived keys for Kubernetes as well', () => {
    expect(validateAuthCred('kubernetes', { bearer_token: 't', auth_url: 'https://k', project_name: 'default' })).toEqual({
      bearer_token: 't',
    });
  });
});

describe('mergeAuthCred', () => {
  it('keeps the username when an OpenStack update only changes the password', () => {
    const current = { username: 'nfv_user', password: 'old', user_domain_name: 'ldap', cert_verify: 'True' };
    expect(mergeAuthCred('openstack', current, { password: 'new' })).toEqual({
      username: 'nfv_user',
      password: 'new',
      user_domain_name: 'ldap',
      cert_verify: 'True',
    });
  });

  it('does not modify the stored credential it was given', () => {
    const current = { username: 'nfv_user', password: 'old', user_domain_name: 'Default' };
    mergeAuthCred('openstack', current, { password: 'new' });
    expect(current).toEqual({ username: 'nfv_user', password: 'old', user_domain_name: 'Default' });
  });

  it('removes the bearer token when a Kubernetes update switches to username and password', () => {
    const merged = mergeAuthCred('kubernetes', { bearer_token: 'tok', ssl_ca_cert: cert }, { username: 'u', password: 'p' });
    expect(merged).toEqual({ username: 'u', password: 'p', ssl_ca_cert: cert });
    expect(merged).not.toHaveProperty('bearer_token');
  });

  it('removes the client certificate when a Kubernetes update switches to a bearer token', () => {
    expect(mergeAuthCred('kubernetes', { client_cert: cert, client_key: key }, { bearer_token: 'tok' })).toEqual({ bearer_token: 'tok' });
  });

  it('merges an update within the OIDC method instead of dropping its other fields', () => {
    const current = { oidc_token_url: 'https://idp/token', client_id: 'c', client_secret: 's', username: 'u', password: 'p' };
    expect(mergeAuthCred('kubernetes', current, { client_secret: null })).toEqual({
      oidc_token_url: 'https://idp/token',
      client_id: 'c',
      username: 'u',
      password: 'p',
    });
    expect(mergeAuthCred('kubernetes', current, { password: 'rotated' })).toEqual({ ...current, password: 'rotated' });
  });

  it('keeps the Kubernetes method when an update only changes cert_verify', () => {
    expect(mergeAuthCred('kubernetes', { bearer_token: 'tok', cert_verify: 'True' }, { cert_verify: false })).toEqual({
      bearer_token: 'tok',
      cert_verify: 'False',
    });
  });

  it('keeps the stored password when the update sends *** for it', () => {
    expect(mergeAuthCred('openstack', { username: 'u', password: 'stored-pw', user_domain_name: 'Default' }, { username: 'v', password: MASK })).toEqual({
      username: 'v',
      password: 'stored-pw',
      user_domain_name: 'Default',
    });
  });

  it('keeps the stored bearer token when a Kubernetes update sends *** for it', () => {
    expect(mergeAuthCred('kubernetes', { bearer_token: 'stored-tok' }, { bearer_token: MASK, ssl_ca_cert: cert })).toEqual({
      bearer_token: 'stored-tok',
      ssl_ca_cert: cert,
    });
  });

  it('refuses *** for a secret that is not stored', () => {
    expect(invalidInputOf(() => mergeAuthCred('openstack', { username: 'u', password: 'p' }, { ssl_ca_cert: MASK }))).toBe(
      "auth_cred.ssl_ca_cert: '***' keeps a stored secret, but none is stored",
    );
  });

  it('refuses *** for a Kubernetes secret of another method that is not stored', () => {
    expect(invalidInputOf(() => mergeAuthCred('kubernetes', { bearer_token: 't' }, { client_secret: MASK }))).toBe(
      "auth_cred.client_secret: '***' keeps a stored secret, but none is stored",
    );
  });

  it('stores *** literally for a field that is not a secret', () => {
    expect(mergeAuthCred('openstack', { username: 'u', password: 'p' }, { username: MASK }).username).toBe(MASK);
  });

  it('removes a field set to null', () => {
    const current = { username: 'u', password: 'p', user_domain_name: 'Default', ssl_ca_cert: cert, cert_verify: 'True' };
    const merged = mergeAuthCred('openstack', current, { ssl_ca_cert: null, cert_verify: null });
    expect(merged).toEqual({ username: 'u', password: 'p', user_domain_name: 'Default' });
  });

  it('falls back to the Default user domain when user_domain_name is set to null', () => {
    expect(mergeAuthCred('openstack', { username: 'u', password: 'p', user_domain_name: 'ldap' }, { user_domain_name: null }).user_domain_name).toBe(
      'Default',
    );
  });

  it('refuses an update that removes the password with null', () => {
    expect(invalidInputOf(() => mergeAuthCred('openstack', { username: 'u', password: 'p' }, { password: null }))).toBe(
      "auth_cred of an OpenStack VIM needs 'password'",
    );
  });

  it('ignores derived fields sent back in an update', () => {
    expect(mergeAuthCred('openstack', { username: 'u', password: 'p' }, { auth_url: 'http://x/v3', project_id: 'p1' })).toEqual({
      username: 'u',
      password: 'p',
      user_domain_name: 'Default',
    });
  });

  it('refuses an unknown key in an update', () => {
    expect(invalidInputOf(() => mergeAuthCred('openstack', { username: 'u', password: 'p' }, { pasword: 'typo' }))).toBe(
      "Unrecognized attribute 'auth_cred.pasword' for an OpenStack VIM",
    );
  });
});

describe('sealAuthCred, openAuthCred and maskAuthCred', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('encrypts every secret value into an enc:v2: envelope and leaves other values plain', () => {
    const cred = { username: 'u', password: 'pw-plain', user_domain_name: 'Default', cert_verify: 'True', ssl_ca_cert: 'ca-pem' };
    const sealed = sealAuthCred(cred, cipher);
    expect(sealed.password?.startsWith(`enc:v2:${cipher.keyId}:`)).toBe(true);
    expect(sealed.ssl_ca_cert?.startsWith(`enc:v2:${cipher.keyId}:`)).toBe(true);
    expect(sealed.password).not.toContain('pw-plain');
    expect(sealed).toMatchObject({ username: 'u', user_domain_name: 'Default', cert_verify: 'True' });
  });

  it('encrypts every Kubernetes secret field', () => {
    const cred = { bearer_token: 'a', client_secret: 'b', client_key: 'c', client_cert: 'd', client_id: 'plain-id', oidc_token_url: 'https://idp' };
    const sealed = sealAuthCred(cred, cipher);
    for (const field of ['bearer_token', 'client_secret', 'client_key', 'client_cert']) {
      expect(sealed[field]?.startsWith(`enc:v2:${cipher.keyId}:`), field).toBe(true);
    }
    expect(sealed.client_id).toBe('plain-id');
    expect(sealed.oidc_token_url).toBe('https://idp');
  });

  it('opens what it sealed back to the original credential', () => {
    const cred = { username: 'u', password: 'pässwörd-🔐', user_domain_name: 'Default', ssl_ca_cert: cert };
    expect(openAuthCred(sealAuthCred(cred, cipher), cipher)).toEqual(cred);
  });

  it('does not modify the credential it seals', () => {
    const cred = { bearer_token: 'tok' };
    sealAuthCred(cred, cipher);
    expect(cred).toEqual({ bearer_token: 'tok' });
  });

  it('refuses to open a sealed credential with another key', () => {
    const sealed = sealAuthCred({ username: 'u', password: 'p' }, cipher);
    expect(() => openAuthCred(sealed, new SecretCipher(randomBytes(32)))).toThrow(InternalError);
  });

  it('treats exactly password, bearer_token, client_secret, client_key, client_cert and ssl_ca_cert as secrets', () => {
    expect([...SECRET_FIELDS].sort()).toEqual(['bearer_token', 'client_cert', 'client_key', 'client_secret', 'password', 'ssl_ca_cert']);
  });

  it('shows *** for every secret field and the other values as they are', () => {
    const sealed = sealAuthCred(
      {
        username: 'u',
        password: 'p',
        bearer_token: 'b',
        client_secret: 's',
        client_key: 'k',
        client_cert: 'c',
        ssl_ca_cert: 'ca',
        cert_verify: 'False',
        client_id: 'id',
      },
      cipher,
    );
    expect(maskAuthCred(sealed)).toEqual({
      username: 'u',
      password: '***',
      bearer_token: '***',
      client_secret: '***',
      client_key: '***',
      client_cert: '***',
      ssl_ca_cert: '***',
      cert_verify: 'False',
      client_id: 'id',
    });
  });
});
