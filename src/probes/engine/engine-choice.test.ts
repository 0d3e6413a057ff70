/**
 * monitor.probe_engine: which engine createProbes runs, and the one log line
 * that says so. The native engine is the real addon where it is built; an
 * addon that is "not built" is a loader answer (the loader's own result
 * type), not a fake engine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { capturedLogger, LEVEL } from '../../../test/support/log-capture.js';
import { probeEngineNames } from '../../../test/support/probe-engines.js';
import { ConfigurationError } from '../../errors.js';
import { createProbes, type ProbeSet } from '../index.js';
import type { IcmpSupport, LoadResult, NativeBinding, NativeEngine } from './native-binding.js';

const notBuilt = (): LoadResult => ({ ok: false, reason: 'the native probe engine is not built (looked for /nowhere/probe_engine.node)' });

/**
 * A STAND-IN binding (not the engine) whose engine reports the ICMP support
 * given: what an unprivileged process outside ping_group_range sees, which
 * the root test run cannot produce with the real addon. It is never asked to
 * send anything here.
 */
function standInWithIcmp(icmp: IcmpSupport): () => LoadResult {
  const engine: NativeEngine = {
    icmp,
    ping: () => undefined,
    tlsContext: () => 1,
    dropTlsContext: () => undefined,
    defineHttpTarget: () => undefined,
    dropHttpTarget: () => undefined,
    http: () => undefined,
    stats: () => ({ submitted: 0, finished: 0, inFlight: 0, echoSent: 0 }),
    close: () => undefined,
  };
  const binding: NativeBinding = { version: 'stand-in', trimMemory: () => false, Engine: function StandIn() { return engine; } as unknown as NativeBinding['Engine'] };
  return () => ({ ok: true, binding, path: '/stand-in/probe_engine.node' });
}

describe('monitor.probe_engine', () => {
  let set: ProbeSet | undefined;
  afterEach(async () => {
    await set?.close();
    set = undefined;
  });

  it('node: runs fping and node:http, and says so in one line', () => {
    const { logger, lines } = capturedLogger();
    set = createProbes(logger, undefined, { engine: 'node' });
    expect(set.engines).toEqual({ icmp: 'node', http: 'node' });
    expect(lines.filter((l) => l.msg.startsWith('probe engine'))).toEqual([expect.objectContaining({ level: LEVEL.info, msg: expect.stringContaining('Node.js drivers') })]);
  });

  it('auto without the addon: falls back to the Node.js drivers with one warning that says why', () => {
    const { logger, lines } = capturedLogger();
    set = createProbes(logger, undefined, { engine: 'auto', loadBinding: notBuilt });
    expect(set.engines).toEqual({ icmp: 'node', http: 'node' });
    const said = lines.filter((l) => l.msg.startsWith('probe engine'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: LEVEL.warn, msg: expect.stringContaining('because the native probe engine is not built') });
  });

  it('native without the addon: refuses to start, saying how to build it', () => {
    const { logger } = capturedLogger();
    expect(() => createProbes(logger, undefined, { engine: 'native', loadBinding: notBuilt })).toThrow(ConfigurationError);
    expect(() => createProbes(logger, undefined, { engine: 'native', loadBinding: notBuilt })).toThrow(/npm run build:native/);
  });

  it('auto with an engine that cannot send ICMP: HTTP on the engine, ICMP by fping, one warning saying why', () => {
    const { logger, lines } = capturedLogger();
    const reason = 'no CAP_NET_RAW, and ping_group_range (1 0) excludes group 1000';
    set = createProbes(logger, undefined, { engine: 'auto', loadBinding: standInWithIcmp({ ipv4: 'none', ipv6: 'none', reason }) });
    expect(set.engines).toEqual({ icmp: 'node', http: 'native' });
    const said = lines.filter((l) => l.msg.startsWith('probe engine'));
    expect(said).toEqual([expect.objectContaining({ level: LEVEL.warn, msg: `probe engine: native for HTTP; ICMP by fping, because the engine cannot send ICMP: ${reason}` })]);
  });

  it('auto with an engine that pings IPv4 only: IPv6 echo goes to fping, said once', () => {
    const { logger, lines } = capturedLogger();
    set = createProbes(logger, undefined, { engine: 'auto', loadBinding: standInWithIcmp({ ipv4: 'dgram', ipv6: 'none', reason: 'no IPv6' }) });
    expect(set.engines).toEqual({ icmp: 'native', http: 'native' });
    expect(lines.filter((l) => l.msg.startsWith('probe engine'))).toEqual([expect.objectContaining({ level: LEVEL.warn, msg: 'probe engine: native (IPv6 ICMP by fping, because no IPv6)' })]);
  });

  it('native with an engine that cannot send ICMP at all: refuses to start', () => {
    const { logger } = capturedLogger();
    expect(() => createProbes(logger, undefined, { engine: 'native', loadBinding: standInWithIcmp({ ipv4: 'none', ipv6: 'none', reason: 'no permission' }) })).toThrow(
      /cannot send ICMP: no permission; set monitor.probe_engine to auto/,
    );
  });

  it.runIf(probeEngineNames().includes('native'))('auto with the addon built: runs ICMP and HTTP on the engine, in one info line', () => {
    const { logger, lines } = capturedLogger();
    set = createProbes(logger, undefined, { engine: 'auto' });
    const said = lines.filter((l) => l.msg.startsWith('probe engine'));
    expect(said).toHaveLength(1);
    expect(set.engines.http).toBe('native');
    // As root (the test suite) the engine has raw ICMP sockets in both families.
    if (process.getuid?.() === 0) {
      expect(set.engines.icmp).toBe('native');
      expect(said[0]).toMatchObject({ level: LEVEL.info, msg: 'probe engine: native (ICMP and HTTP)', icmp: { ipv4: expect.not.stringMatching(/^none$/), ipv6: expect.not.stringMatching(/^none$/) } });
    }
  });
});
