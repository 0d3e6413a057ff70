/**
 * Status history through the whole service: the real monitor loop (a
 * scripted probe stands in for the network), the manager, the recorder and
 * SQLite. A VIM that is up, then down, has reachable and unreachable time
 * in its stored day, written by the periodic flush and, at the end, by the
 * graceful stop.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openstackVim } from '../../test/support/fixtures.js';
import { waitFor } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../test/support/service.js';
import { openStore } from '../store/database.js';
import { HistoryRepository } from '../store/history-repository.js';
import { dayOf, type HistoryDay } from './model.js';

describe('status history of a monitored VIM', () => {
  let service: TestService | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it('records reachable then unreachable seconds in the stored day through the real monitor loop', async () => {
    const probe = new ScriptedProbe('tcp');
    service = await startTestService({
      monitoring: { probes: [probe], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 }, guard: { enabled: false } },
      history: { flush_interval: 0.3 },
    });
    const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim() } });
    expect(created.status).toBe(201);
    const vimId: string = created.json.vim.id;
    await waitFor('the VIM up', async () => ((await service!.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status === 'REACHABLE' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    probe.set(vimId, 'fail');
    await waitFor('the VIM down', async () => ((await service!.api('GET', `/v1.0/vims/${vimId}`)).json.vim.status === 'UNREACHABLE' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const dataDir = service.dataDir;
    const stoppedAt = Date.now();
    await service.close(); // graceful: the recorder writes what it has before the leases go

    const store = openStore(`sqlite:${dataDir}/vim-monitor.db`);
    try {
      const days = await new HistoryRepository(store).read([vimId], dayOf(stoppedAt) - 1, dayOf(stoppedAt));
      const sum = (pick: (day: HistoryDay) => number) => days.reduce((total, day) => total + pick(day), 0);
      expect(sum((day) => day.reachableMs)).toBeGreaterThan(1_000);
      expect(sum((day) => day.unreachableMs)).toBeGreaterThan(1_000);
      expect(sum((day) => day.reachableMs + day.unreachableMs + day.pendingMs)).toBeLessThanOrEqual(stoppedAt - Date.parse(created.json.vim.created_at.replace(' ', 'T') + 'Z') + 1_000);
      expect(sum((day) => day.probes.tcp?.checks ?? 0)).toBeGreaterThan(10);
      expect(sum((day) => day.probes.tcp?.failed ?? 0)).toBeGreaterThan(3);
      expect(sum((day) => day.conditionChanges)).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
    }
  });
});
