import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, POSTGRES_ADMIN_URL } from '../../test/support/databases.js';
import { openstackVim } from '../../test/support/fixtures.js';
import { waitFor } from '../../test/support/monitoring.js';
import { ScriptedProbe } from '../../test/support/scripted-probe.js';
import { startTestService, type TestService } from '../../test/support/service.js';

/**
 * A full disk for real: SQLite's file and a PostgreSQL tablespace live on a
 * small tmpfs that the test mounts (root only, as in .ci/run), fills with a
 * filler file, then frees. MariaDB keeps every table in the server's one
 * data directory (shared with other tests), so there the real "table is
 * full" (error 1114) is produced instead: the vims table is made an Aria
 * table whose data file may not grow past 64 KiB. ENOSPC of MariaDB's own
 * data directory (errors 1021 and 28) is classified but not exercised.
 */
const FULL_MESSAGE = 'the database has no space left';
const RECOVERED_MESSAGE = 'storage-full episode over';

interface Mount {
  dir: string;
  unmount(): void;
}

const mounts: Mount[] = [];
afterAll(() => {
  for (const mount of mounts.splice(0)) mount.unmount();
});

function mountTmpfs(size: string, owner?: { uid: number; gid: number }): Mount {
  const dir = mkdtempSync('/tmp/vim-monitor-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const mount: Mount = {
    dir,
    unmount: () => {
      // Lazy: a file the database still holds open must not keep the mount (or the test) alive.
      execFileSync('umount', ['-l', dir]);
      rmdirSync(dir);
    },
  };
  mounts.push(mount);
  return mount;
}

/** Writes a filler file until the file system refuses; returns how to free the space again. */
function fillUp(dir: string): () => Promise<void> {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // The last bytes of a partial chunk.
  try {
    for (;;) writeSync(fd, chunk, 0, 512);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return async () => rmSync(file);
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * Registers VIMs until three writes were refused: every answer is 201 or
 * 507 with a TackerError, a refused write stored nothing, the log says so
 * once; once space is back, writes succeed again.
 */
async function exerciseFullDisk(service: TestService, fill: () => Promise<() => Promise<void>>): Promise<void> {
  expect((await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'before-full' }) } })).status).toBe(201);
  const free = await fill();
  const stored = ['before-full'];
  let refused = 0;
  for (let i = 0; i < 200 && refused < 3; i++) {
    const name = `while-full-${i}`;
    const response = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name, extra: { pad: 'x'.repeat(16_000) } }) } });
    if (response.status === 201) {
      stored.push(name);
      continue;
    }
    expect(response.status, response.text.slice(0, 300)).toBe(507);
    expect(response.json).toEqual({
      TackerError: { type: 'InsufficientStorage', message: expect.stringMatching(/no space left/), detail: '' },
    });
    refused++;
  }
  expect(refused).toBe(3);
  // Reads still work, and nothing of a refused write is there.
  const listed = await service.api('GET', '/v1.0/vims?fields=name&tenant_id=admin');
  expect(listed.status).toBe(200);
  expect(listed.json.vims.map((vim: { name: string }) => vim.name).sort()).toEqual(stored.sort());
  expect(occurrences(service.logText(), FULL_MESSAGE)).toBe(1);
  expect(service.logText()).not.toContain('cannot rollback');

  await free();
  const after = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'after-full' }) } });
  expect(after.status, after.text.slice(0, 300)).toBe(201);
  expect(occurrences(service.logText(), RECOVERED_MESSAGE)).toBe(1);
}

describe('a full disk under SQLite', () => {
  it('answers 507 InsufficientStorage, stores nothing, logs once and recovers when space returns', async () => {
    const mount = mountTmpfs('2m');
    const service = await startTestService({ databaseUrl: `sqlite:${join(mount.dir, 'vim-monitor.db')}` });
    try {
      await exerciseFullDisk(service, async () => fillUp(mount.dir));
    } finally {
      await service.stop();
    }
  });
});

describe('a full disk under SQLite while monitors decide', () => {
  it('keeps a status change decided while the disk is full and stores it, once, when space returns', async () => {
    const mount = mountTmpfs('2m');
    // The scripted probe stands in for the network: this pins the write queue, not a probe.
    const probe = new ScriptedProbe('tcp');
    const service = await startTestService({
      databaseUrl: `sqlite:${join(mount.dir, 'vim-monitor.db')}`,
      monitoring: {
        probes: [probe],
        monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1, failure_threshold: 1, success_threshold: 1 },
        manager: { sweep_interval: 0.2, stall_grace: 0.2, heartbeat_interval: 0.2 },
      },
      outbox: { enabled: false },
    });
    try {
      const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: 'watched' }) } });
      expect(created.status).toBe(201);
      const id = created.json.vim.id as string;
      const statusOf = async (): Promise<string> => (await service.api('GET', `/v1.0/vims/${id}`)).json.vim.status as string;
      await waitFor('REACHABLE', async () => (await statusOf()) === 'REACHABLE');

      const free = fillUp(mount.dir);
      // Use up the slack the database file and its WAL still had, until a write is refused.
      await waitFor(
        'a refused write',
        async () => (await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim({ name: `pad-${randomUUID()}`, extra: { pad: 'x'.repeat(16_000) } }) } })).status === 507,
      );
      probe.set(id, 'fail');
      await waitFor('the write queue holding the verdict', () => service.logText().includes('keeping monitor writes in memory'));
      expect(await statusOf()).toBe('REACHABLE');

      await free();
      await waitFor('the verdict stored', async () => (await statusOf()) === 'UNREACHABLE');
      const events = (await service.api('GET', `/v1.0/events?resource_id=${id}&event_type=MONITOR`)).json.events as Array<{
        event_details: { old_status: string; new_status: string };
      }>;
      expect(events.map((e) => `${e.event_details.old_status}>${e.event_details.new_status}`)).toEqual(['PENDING>REACHABLE', 'REACHABLE>UNREACHABLE']);
      expect(service.logText()).not.toContain('dropped');
      expect(occurrences(service.logText(), 'keeping monitor writes in memory')).toBe(1);
    } finally {
      await service.stop();
    }
  });
});

describe('a full tablespace under PostgreSQL', () => {
  it('answers 507 InsufficientStorage, stores nothing, logs once and recovers when space returns', async () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    // A new database copies template1 (about 8 MB) into its tablespace.
    const mount = mountTmpfs('24m', { uid, gid });
    const suffix = mount.dir.slice(mount.dir.lastIndexOf('-') + 1).toLowerCase().replace(/[^a-z0-9]/g, '');
    const tablespace = `vm_full_${suffix}`;
    const database = `vm_test_full_${suffix}`;
    const admin = async (sql: string): Promise<void> => {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE TABLESPACE ${tablespace} LOCATION '${mount.dir}'`);
    let service: TestService | undefined;
    try {
      await admin(`CREATE DATABASE ${database} TABLESPACE ${tablespace}`);
      const url = new URL(POSTGRES_ADMIN_URL);
      url.pathname = `/${database}`;
      service = await startTestService({ databaseUrl: url.toString() });
      await exerciseFullDisk(service, async () => fillUp(mount.dir));
    } finally {
      await service?.stop();
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin(`DROP TABLESPACE IF EXISTS ${tablespace}`);
    }
  });
});

describe('a full table under MariaDB', () => {
  it('answers 507 InsufficientStorage, stores nothing, logs once and recovers when space returns', async () => {
    const database = await createTestDatabase('mysql');
    const connection = await mysql.createConnection({ uri: database.url });
    let service: TestService | undefined;
    try {
      service = await startTestService({ databaseUrl: database.url });
      await connection.query('ALTER TABLE vims ENGINE=Aria ROW_FORMAT=DYNAMIC TRANSACTIONAL=0 MAX_ROWS=10 AVG_ROW_LENGTH=100');
      const fill = async (): Promise<() => Promise<void>> => {
        // Rows of another tenant, written straight into the table until it refuses.
        for (let i = 0; ; i++) {
          try {
            await connection.query(
              "INSERT INTO vims (id, tenant_id, name, description, type, auth_url, auth_cred, vim_project, is_default, extra, status, placement_attr, created_at) VALUES (?, 'filler', ?, '', 'openstack', 'http://127.0.0.1/v3', '{}', '{}', 0, ?, 'PENDING', '{}', '2026-01-01 00:00:00.000000')",
              [randomUUID(), `filler-${i}`, JSON.stringify({ pad: 'x'.repeat(4000) })],
            );
          } catch (error) {
            expect((error as { errno?: number }).errno).toBe(1114);
            return async () => {
              await connection.query("DELETE FROM vims WHERE tenant_id = 'filler'");
            };
          }
        }
      };
      await exerciseFullDisk(service, fill);
    } finally {
      await service?.stop();
      await connection.end();
      await database.drop();
    }
  });
});

describe('a full monitor table under MariaDB', () => {
  it('still answers 201 for a VIM that is stored, and the sweep gives it its monitor once space returns', async () => {
    const database = await createTestDatabase('mysql');
    const connection = await mysql.createConnection({ uri: database.url });
    let service: TestService | undefined;
    try {
      service = await startTestService({
        databaseUrl: database.url,
        monitoring: { probes: [new ScriptedProbe('tcp')], monitor: { probes: ['tcp'], interval: 0.2, timeout: 0.1 }, manager: { sweep_interval: 0.2 } },
      });
      // The VIM row goes in (InnoDB); the monitor row written after it does not fit.
      await connection.query('ALTER TABLE vim_monitors ENGINE=Aria ROW_FORMAT=DYNAMIC TRANSACTIONAL=0 MAX_ROWS=10 AVG_ROW_LENGTH=100');
      for (let i = 0; ; i++) {
        try {
          await connection.query("INSERT INTO vim_monitors (vim_id, monitor_id, owner, dispatched_at) VALUES (?, ?, ?, '2026-01-01 00:00:00.000000')", [
            `filler-${i}`,
            randomUUID(),
            'x'.repeat(128),
          ]);
        } catch (error) {
          expect((error as { errno?: number }).errno).toBe(1114);
          break;
        }
      }
      const created = await service.api('POST', '/v1.0/vims', { body: { vim: openstackVim() } });
      expect(created.status, created.text.slice(0, 300)).toBe(201);
      const listed = await service.api('GET', '/v1.0/vims?fields=id');
      expect(listed.json.vims).toEqual([{ id: created.json.vim.id }]);

      await connection.query("DELETE FROM vim_monitors WHERE vim_id LIKE 'filler-%'");
      let row: unknown[] = [];
      for (let attempt = 0; attempt < 50 && row.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        [row] = (await connection.query('SELECT vim_id FROM vim_monitors WHERE vim_id = ?', [created.json.vim.id])) as [unknown[], unknown];
      }
      expect(row).toHaveLength(1);
    } finally {
      await service?.stop();
      await connection.end();
      await database.drop();
    }
  });
});
