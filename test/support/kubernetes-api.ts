/**
 * A FAKE Kubernetes API server (a mock: no real kube-apiserver runs in the
 * test suite). It serves, over HTTPS with a certificate of a test CA, the
 * few endpoints the probes use, answering the way kube-apiserver does:
 *
 *   GET  /readyz               200 'ok' (or 401 when anonymous access is off)
 *   GET  /api                  APIVersions, for any authenticated user
 *   GET  /api/v1/namespaces    NamespaceList, unless namespaces are forbidden
 *   GET  /api/v1/namespaces/N  Namespace, or 404 Status
 *   GET  /api/v1/nodes         NodeList (nodes: Ready condition, allocatable)
 *   GET  /api/v1/pods          PodList; the fieldSelector status.phase!=X is applied
 *   POST /oidc/token           an OpenID provider's token endpoint
 *                              (resource-owner password grant → id_token)
 *
 * Authentication: bearer tokens, basic auth, client certificates signed by
 * the test CA (user = CN), and id_tokens issued by /oidc/token. A request
 * without accepted credentials is anonymous: 401 when anonymous access is
 * off, or 403 naming "system:anonymous" when it is on, as kube-apiserver does.
 * Switches make it answer 500, close connections, or hang.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { makeTestPki, type TestPki } from './pki.js';

export interface FakeKubeApiOptions {
  pki?: TestPki;
  bearerToken?: string;
  basic?: { username: string; password: string };
  oidc?: { clientId: string; clientSecret?: string; username: string; password: string; ttlSeconds?: number };
  namespaces?: string[];
  nodes?: FakeNode[];
  pods?: FakePod[];
}

/** A node as the capacity checks read it: Ready or not, cordoned or not, allocatable quantities ("4", "3800m", "16Gi"). */
export interface FakeNode {
  name: string;
  ready: boolean;
  unschedulable?: boolean;
  allocatable: { cpu: string; memory: string };
}

/** A pod with its containers' requests; nodeName unset means not scheduled. */
export interface FakePod {
  name: string;
  namespace: string;
  nodeName?: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  containers: Array<{ cpu?: string; memory?: string }>;
  initContainers?: Array<{ cpu?: string; memory?: string }>;
}

function nodeObject(node: FakeNode): unknown {
  return {
    metadata: { name: node.name },
    spec: node.unschedulable ? { unschedulable: true } : {},
    status: {
      allocatable: { ...node.allocatable, pods: '110' },
      capacity: { ...node.allocatable, pods: '110' },
      conditions: [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: node.ready ? 'True' : 'Unknown', reason: node.ready ? 'KubeletReady' : 'NodeStatusUnknown' },
      ],
    },
  };
}

function podObject(pod: FakePod): unknown {
  const container = (c: { cpu?: string; memory?: string }, i: number) => ({
    name: `c${i}`,
    image: 'registry.test/app:1',
    resources: { requests: { ...(c.cpu !== undefined && { cpu: c.cpu }), ...(c.memory !== undefined && { memory: c.memory }) } },
  });
  return {
    metadata: { name: pod.name, namespace: pod.namespace },
    spec: { ...(pod.nodeName !== undefined && { nodeName: pod.nodeName }), containers: pod.containers.map(container), ...(pod.initContainers && { initContainers: pod.initContainers.map(container) }) },
    status: { phase: pod.phase },
  };
}

export type FakeKubeMode = 'serve' | 'error' | 'close' | 'hang';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Authenticated user name, or undefined when anonymous. */
  user: string | undefined;
}

export interface FakeKubeApi {
  /** https://127.0.0.1:<port> */
  url: string;
  /** PEM of the CA that signed the server certificate (what a VIM's ssl_ca_cert holds). */
  ca: string;
  pki: TestPki;
  oidcTokenUrl: string;
  /** 'serve' answers; 'error' answers every request with 500; 'close' drops each request's connection; 'hang' never answers. */
  mode: FakeKubeMode;
  /** /readyz without credentials: 200 when true (the default), 401 when anonymous access is off. */
  anonymousReadyz: boolean;
  /** What an anonymous request to /api gets: 401 (anonymous auth off, the default) or 403 (on). */
  anonymous: 'unauthorized' | 'forbidden';
  /** Authenticated users may GET /api (default true) and list namespaces (default true). */
  apiAllowed: boolean;
  namespacesAllowed: boolean;
  /** Served by /api/v1/nodes and /api/v1/pods; tests change them between checks. */
  nodes: FakeNode[];
  pods: FakePod[];
  /** Served by /api/v1/namespaces and /api/v1/namespaces/{name}. */
  namespaces: string[];
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** TLS handshakes that resumed an earlier session instead of a full handshake. */
  resumedSessions(): number;
  /** Connections open now. */
  openConnections(): number;
  /** id_tokens issued by the token endpoint so far. */
  oidcTokensIssued(): number;
  /** Makes every id_token issued so far invalid, as a key rotation at the provider would. */
  revokeOidcTokens(): void;
  stop(): Promise<void>;
}

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const pki = options.pki ?? makeTestPki();
  const caCert = new X509Certificate(pki.ca.cert);
  const idTokens = new Map<string, { user: string; exp: number }>();
  const sockets = new Set<Socket>();
  let connections = 0;
  let resumed = 0;
  let issued = 0;

  const authenticate = (req: IncomingMessage): string | undefined => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerX509Certificate?.();
    if (peer && peer.checkIssued(caCert) && peer.verify(caCert.publicKey)) return peer.subject.match(/CN=([^\n]+)/)?.[1];
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Bearer ')) {
      const token = header.slice('Bearer '.length);
      if (options.bearerToken !== undefined && token === options.bearerToken) return 'token-user';
      const oidc = idTokens.get(token);
      if (oidc && oidc.exp * 1000 > Date.now()) return oidc.user;
    }
    if (header.startsWith('Basic ') && options.basic) {
      const [user, ...rest] = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8').split(':');
      if (user === options.basic.username && rest.join(':') === options.basic.password) return user;
    }
    return undefined;
  };

  const tokenEndpoint = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const form = new URLSearchParams(await readBody(req));
    const oidc = options.oidc;
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!oidc) return json(404, { error: 'not_found' });
    if (form.get('client_id') !== oidc.clientId || (oidc.clientSecret !== undefined && form.get('client_secret') !== oidc.clientSecret)) {
      return json(401, { error: 'invalid_client' });
    }
    if (form.get('grant_type') !== 'password') return json(400, { error: 'unsupported_grant_type' });
    if (form.get('username') !== oidc.username || form.get('password') !== oidc.password) return json(400, { error: 'invalid_grant', error_description: 'Invalid user credentials' });
    if (!(form.get('scope') ?? '').split(' ').includes('openid')) return json(400, { error: 'invalid_scope' });
    const ttl = oidc.ttlSeconds ?? 300;
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: `${fake.url}/oidc`, sub: oidc.username, aud: oidc.clientId, iat: now, exp: now + ttl };
    const idToken = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url(payload)}.${randomBytes(32).toString('base64url')}`;
    idTokens.set(idToken, { user: oidc.username, exp: payload.exp });
    issued += 1;
    json(200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: ttl, id_token: idToken });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const user = path === '/oidc/token' ? undefined : authenticate(req);
    fake.requests.push({ method: req.method ?? 'GET', path, user });
    if (fake.mode === 'hang') return; // the socket stays open until stop()
    if (fake.mode === 'close') {
      req.socket.destroy();
      return;
    }
    if (fake.mode === 'error') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('[+]ping ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-apiserver-admission-initializer ok\nreadyz check failed\n');
      return;
    }
    if (req.method === 'POST' && path === '/oidc/token') return tokenEndpoint(req, res);
    const json = (status: number, body: string): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    if (req.method !== 'GET') return json(405, statusBody(405, 'MethodNotAllowed', 'the server does not allow this method'));
    if (path === '/readyz') {
      if (!user && !fake.anonymousReadyz) return json(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (!user) {
      if (fake.anonymous === 'unauthorized') return json(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return json(403, statusBody(403, 'Forbidden', `forbidden: User "system:anonymous" cannot get path "${path}"`));
    }
    if (path === '/api') {
      if (!fake.apiAllowed) return json(403, statusBody(403, 'Forbidden', `forbidden: User "${user}" cannot get path "/api"`));
      return json(200, JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] }));
    }
    if (path === '/api/v1/namespaces') {
      if (!fake.namespacesAllowed) {
        return json(403, statusBody(403, 'Forbidden', `namespaces is forbidden: User "${user}" cannot list resource "namespaces" in API group "" at the cluster scope`));
      }
      return json(200, JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: fake.namespaces.map((name) => ({ metadata: { name }, status: { phase: 'Active' } })) }));
    }
    const namespace = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path)?.[1];
    if (namespace !== undefined) {
      if (!fake.namespaces.includes(namespace)) return json(404, statusBody(404, 'NotFound', `namespaces "${namespace}" not found`));
      return json(200, JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: namespace }, status: { phase: 'Active' } }));
    }
    if (path === '/api/v1/nodes') return json(200, JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: fake.nodes.map(nodeObject) }));
    if (path === '/api/v1/pods') {
      // Only the selector the capacity check sends: status.phase!=A,status.phase!=B.
      const excluded = (query.get('fieldSelector') ?? '').split(',').flatMap((term) => (term.startsWith('status.phase!=') ? [term.slice('status.phase!='.length)] : []));
      const items = fake.pods.filter((pod) => !excluded.includes(pod.phase)).map(podObject);
      return json(200, JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items }));
    }
    json(404, statusBody(404, 'NotFound', 'the server could not find the requested resource'));
  };

  const server: Server = createServer(
    { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 30_000 },
    (req, res) => void handle(req, res).catch(() => res.destroy()),
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.isSessionReused()) resumed += 1;
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const fake: FakeKubeApi = {
    url: `https://127.0.0.1:${port}`,
    ca: pki.ca.cert,
    pki,
    oidcTokenUrl: `https://127.0.0.1:${port}/oidc/token`,
    mode: 'serve',
    anonymousReadyz: true,
    anonymous: 'unauthorized',
    apiAllowed: true,
    namespacesAllowed: true,
    nodes: options.nodes ?? [],
    pods: options.pods ?? [],
    namespaces: options.namespaces ?? ['default', 'kube-system', 'nfv'],
    requests: [],
    connections: () => connections,
    resumedSessions: () => resumed,
    openConnections: () => sockets.size,
    oidcTokensIssued: () => issued,
    revokeOidcTokens: () => idTokens.clear(),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}
