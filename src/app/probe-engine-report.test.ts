import { afterEach, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../test/support/service.js';
import { probeEngineNames } from '../../test/support/probe-engines.js';

describe('GET /v1.0/manager', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('says the Node.js drivers send the probes when monitor.probe_engine is node', async () => {
    service = await startTestService({ monitoring: { monitor: { probe_engine: 'node' } } });
    expect((await service.api('GET', '/v1.0/manager')).json.manager.probe_engine).toBe('node');
  });

  it.runIf(probeEngineNames().includes('native'))('says the native engine sends the probes when it is built and asked for', async () => {
    service = await startTestService({ monitoring: { monitor: { probe_engine: 'native' } } });
    expect((await service.api('GET', '/v1.0/manager')).json.manager.probe_engine).toBe('native');
  });
});
