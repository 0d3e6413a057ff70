import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openstackInput } from '../../test/support/fixtures.js';
import { ForbiddenError, InvalidInputError, NotFoundError, VimNotFoundError } from '../errors.js';
import { SecretCipher } from '../secrets/cipher.js';
import { openStore, type Store } from '../store/database.js';
import { MaintenanceRepository } from '../store/maintenance-repository.js';
import { migrateToLatest } from '../store/migrate.js';
import { VimRepository } from '../store/vim-repository.js';
import type { Clock } from '../time/clock.js';
import type { RequestContext, VimRecord } from '../vims/model.js';
import { VimRegistry } from '../vims/registry.js';
import { MAX_WINDOWS_PER_TENANT, MaintenanceService, type MaintenanceInput } from './service.js';

const alice: RequestContext = { projectId: 'project-a', userId: 'alice', isAdmin: false };
const bob: RequestContext = { projectId: 'project-b', userId: 'bob', isAdmin: false };
const admin: RequestContext = { projectId: 'admin-project', userId: 'root', isAdmin: true };

describe('maintenance windows: who may declare what, and what is refused', () => {
  let store: Store;
  let repository: MaintenanceRepository;
  let service: MaintenanceService;
  let aliceVim: VimRecord;
  let bobVim: VimRecord;
  let changes = 0;
  const now = new Date('2026-12-01T10:00:00Z');
  const clock: Clock = { now: () => now };

  beforeAll(async () => {
    store = openStore('sqlite::memory:');
    await migrateToLatest(store);
    const registry = new VimRegistry({ repository: new VimRepository(store), cipher: new SecretCipher(randomBytes(32)), clock });
    aliceVim = await registry.create(alice, openstackInput('alice-edge'));
    bobVim = await registry.create(bob, openstackInput('bob-edge'));
    repository = new MaintenanceRepository(store);
    service = new MaintenanceService({ repository, vims: registry, clock, changed: async () => void (changes += 1) });
  });
  afterAll(async () => {
    await store?.close();
  });

  const window = (overrides: Partial<MaintenanceInput> = {}): MaintenanceInput => ({
    reason: 'router firmware',
    scope: { vimIds: [aliceVim.id] },
    startMs: Date.parse('2026-12-01T11:00:00Z'),
    endMs: Date.parse('2026-12-01T12:00:00Z'),
    ...overrides,
  });

  /** Runs a refused call and checks that nothing was stored and nobody was told of a change. */
  async function refused(call: () => Promise<unknown>): Promise<unknown> {
    const before = [(await repository.list()).length, changes];
    const error = await call().catch((caught: unknown) => caught);
    expect([(await repository.list()).length, changes]).toEqual(before);
    return error;
  }

  it("lets a member declare a window over its own VIMs, owned by its tenant, and tells the process's calendar", async () => {
    const created = await service.create(alice, window());
    expect(created).toMatchObject({ tenantId: 'project-a', scope: { kind: 'vims', vimIds: [aliceVim.id] }, schedule: { kind: 'once' } });
    expect(changes).toBe(1);
    expect((await service.list(alice)).map((w) => w.id)).toEqual([created.id]);
    expect(await service.list(bob)).toEqual([]);
    expect((await service.list(admin)).map((w) => w.id)).toContain(created.id);
  });

  it("answers another tenant's VIM exactly as an unknown one: 404, nothing stored", async () => {
    const other = await refused(() => service.create(alice, window({ scope: { vimIds: [aliceVim.id, bobVim.id] } })));
    expect(other).toBeInstanceOf(VimNotFoundError);
    expect((other as Error).message).toBe(`VIM ${bobVim.id} could not be found`);
    const unknown = await refused(() => service.create(alice, window({ scope: { vimIds: ['00000000-0000-4000-8000-000000000000'] } })));
    expect(unknown).toBeInstanceOf(VimNotFoundError);
  });

  it("refuses a member a window over another tenant or over all VIMs (403), and lets an administrator declare both", async () => {
    expect(await refused(() => service.create(alice, window({ scope: { tenantId: 'project-b' } })))).toBeInstanceOf(ForbiddenError);
    expect(await refused(() => service.create(alice, window({ scope: { all: true } })))).toBeInstanceOf(ForbiddenError);
    expect((await service.create(alice, window({ scope: { tenantId: 'project-a' } }))).tenantId).toBe('project-a');
    expect((await service.create(admin, window({ scope: { tenantId: 'project-b' } }))).tenantId).toBe('project-b');
    const everything = await service.create(admin, window({ scope: { all: true } }));
    expect(everything).toMatchObject({ tenantId: 'admin-project', scope: { kind: 'all' } });
    // An administrator's window over one tenant's VIMs belongs to that tenant: its members see it.
    const forBob = await service.create(admin, window({ scope: { vimIds: [bobVim.id] } }));
    expect((await service.list(bob)).map((w) => w.id)).toContain(forBob.id);
  });

  it('lets only the owning tenant (or an administrator) see and delete a window: another member gets a 404', async () => {
    const created = await service.create(alice, window());
    expect(await refused(() => service.get(bob, created.id))).toBeInstanceOf(NotFoundError);
    expect(await refused(() => service.delete(bob, created.id))).toBeInstanceOf(NotFoundError);
    await service.delete(alice, created.id);
    expect(await refused(() => service.get(alice, created.id))).toBeInstanceOf(NotFoundError);
  });

  it('refuses bad schedules with a 400 naming the problem, storing nothing', async () => {
    const message = async (input: MaintenanceInput): Promise<string> => {
      const error = await refused(() => service.create(alice, input));
      expect(error).toBeInstanceOf(InvalidInputError);
      return (error as Error).message;
    };
    expect(await message(window({ endMs: Date.parse('2026-12-01T10:30:00Z') }))).toBe('maintenance.end must be after maintenance.start');
    expect(await message(window({ startMs: Date.parse('2026-12-01T08:00:00Z'), endMs: Date.parse('2026-12-01T09:00:00Z') }))).toMatch(/in the past/);
    const weekly = { days: ['sun'], startTime: '02:30', durationMinutes: 60, timeZone: 'Europe/Paris' };
    const recurring = (recurrence: Partial<typeof weekly>): MaintenanceInput => ({ reason: 'weekly', scope: { vimIds: [aliceVim.id] }, recurrence: { ...weekly, ...recurrence } });
    expect(await message(recurring({ timeZone: 'Europe/Atlantis' }))).toMatch(/IANA time zone/);
    expect(await message(recurring({ days: ['sunday'] }))).toBe("maintenance.recurrence.days: unknown day 'sunday'; one of mon, tue, wed, thu, fri, sat, sun");
    expect(await message(recurring({ days: [] }))).toMatch(/at least one day/);
    expect(await message(recurring({ startTime: '24:00' }))).toMatch(/HH:MM/);
    expect(await message(recurring({ startTime: '2:30' }))).toMatch(/HH:MM/);
    expect(await message(recurring({ durationMinutes: 0 }))).toMatch(/whole minutes from 1 to 10080/);
    expect(await message(recurring({ durationMinutes: 10081 }))).toMatch(/whole minutes/);
    expect(await message({ ...recurring({}), startMs: now.getTime() })).toMatch(/no start or end/);
    expect(await message(window({ scope: {} }))).toMatch(/exactly one of/);
    expect(await message(window({ scope: { vimIds: [aliceVim.id], all: true } }))).toMatch(/exactly one of/);
    expect(await message(window({ scope: { all: false } }))).toMatch(/must be true/);
    expect(await message(window({ scope: { vimIds: [] } }))).toMatch(/at least one VIM/);
  });

  it('accepts overlapping windows, open-ended ones, and a weekly slot in a time zone, days kept in week order', async () => {
    await service.create(alice, window());
    await service.create(alice, window());
    const open = await service.create(alice, window({ endMs: null }));
    expect(open.schedule).toEqual({ kind: 'once', startMs: Date.parse('2026-12-01T11:00:00Z'), endMs: null });
    const weekly = await service.create(alice, {
      reason: 'patch night',
      scope: { vimIds: [aliceVim.id] },
      recurrence: { days: ['sun', 'wed', 'sun'], startTime: '02:30', durationMinutes: 90, timeZone: 'Europe/Paris' },
    });
    expect(weekly.schedule).toEqual({ kind: 'weekly', days: ['wed', 'sun'], startMinute: 150, durationMinutes: 90, timeZone: 'Europe/Paris' });
  });

  it(`keeps at most ${MAX_WINDOWS_PER_TENANT} windows per tenant`, async () => {
    const have = await repository.countOf('project-a');
    for (let i = have; i < MAX_WINDOWS_PER_TENANT; i++) await service.create(alice, window());
    expect(await refused(() => service.create(alice, window()))).toBeInstanceOf(InvalidInputError);
    // Another tenant is not held back by it.
    expect((await service.create(bob, window({ scope: { vimIds: [bobVim.id] } }))).tenantId).toBe('project-b');
  });
});
