import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_OFFICER_PASSWORD, demoOfficerName, loadDemo, settleDemo } from '../src/demo.ts';
import { periodStats } from '../src/core/dashboard/stats.ts';
import { parsePeriod } from '../src/core/dashboard/period.ts';
import { verifyPassword } from '../src/core/staff/passwords.ts';
import { can } from '../src/core/staff/policy.ts';
import type { Runtime } from '../src/runtime.ts';
import { testRuntime } from './support/runtime.ts';

// The demo's reports carry phone numbers that may be real people's: with a channel on that
// writes to citizens, loading them would text every one of them an acknowledgement.

describe('demo data', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime({}, { startWorker: false });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('loads no reports, only the accounts, while a channel that writes to citizens is on', async () => {
    const r = await loadDemo(rt.handle.db, rt.intake, new Date(), ['sms', 'phone']);
    expect(r.reports).toBe(0);
    expect(r.skipped).toMatch(/sms, phone/);
    expect(await rt.handle.db.selectFrom('inbound_messages').select('id').execute()).toHaveLength(0);
    expect(await rt.handle.db.selectFrom('users').select('username').where('username', '=', 'agent').execute()).toHaveLength(1);
  });

  it('loads its reports otherwise, once', async () => {
    const first = await loadDemo(rt.handle.db, rt.intake);
    expect(first.reports).toBeGreaterThan(20);
    expect((await loadDemo(rt.handle.db, rt.intake)).reports).toBe(0);
  });

  it('takes some tickets through the ward\'s work once the reports are filed, once: dispatched, acknowledged, started, resolved', async () => {
    const db = rt.handle.db;
    rt.worker.start();
    await rt.worker.idle(120_000);
    const events = await settleDemo(db);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['ticket.dispatched', 'ticket.acknowledged', 'ticket.started', 'ticket.resolved']) expect(types, t).toContain(t);
    const tickets = await db.selectFrom('tickets').select(['status', 'dispatched_area', 'area_code']).where('merged_into', 'is', null).execute();
    const count = (status: string) => tickets.filter((t) => t.status === status).length;
    expect(count('resolved')).toBeGreaterThanOrEqual(3);
    expect(count('acknowledged') + count('in_progress')).toBeGreaterThanOrEqual(2);
    // Each by its own unit's officer, with the result the demo gives, as a ward officer resolves it.
    const resolved = await db.selectFrom('ticket_events').select(['actor', 'reason']).where('type', '=', 'ticket.resolved').execute();
    expect(resolved.every((e) => /^user:(phuong-|xa-|dac-khu-|benthanh)/.test(e.actor ?? '') && (e.reason ?? '').startsWith('Đã '))).toBe(true);
    // The dashboard has handled tickets to rank: within two hours, as the demo's reports are recent.
    const stats = await periodStats(db, parsePeriod({ period: '7d' }, new Date()));
    expect(stats.city.handled).toBe(count('resolved'));
    expect(stats.city.handledWithin).toBe(count('resolved'));
    // Again: nothing more (and nothing someone did in the demo is undone).
    expect(await settleDemo(db)).toEqual([]);
  });

  it('gives every unit a ward officer, named after the unit, with the one demo password', async () => {
    const db = rt.handle.db;
    const units = await db.selectFrom('areas').select(['code', 'name']).execute();
    const officers = await db.selectFrom('users').select(['username', 'area_codes', 'password_hash', 'role']).where('role', '=', 'ward_officer').execute();
    const byUnit = new Map<string, string[]>();
    for (const o of officers) for (const code of o.area_codes as string[]) byUnit.set(code, [...(byUnit.get(code) ?? []), o.username]);
    expect(units.length).toBe(168);
    expect(units.filter((u) => !byUnit.has(u.code)).map((u) => u.name)).toEqual([]);
    const saiGon = units.find((u) => u.name === 'Phường Sài Gòn')!;
    expect(demoOfficerName(saiGon.name)).toBe('phuong-sai-gon');
    expect(byUnit.get(saiGon.code)).toEqual(['phuong-sai-gon']);
    expect(demoOfficerName('Đặc khu Côn Đảo')).toBe('dac-khu-con-dao');
    const one = officers.find((o) => o.username === 'phuong-sai-gon')!;
    expect(await verifyPassword(DEMO_OFFICER_PASSWORD, one.password_hash)).toBe(true);
    // An officer sees only their own unit's tasks.
    expect(can({ role: 'ward_officer', areaCodes: one.area_codes as string[] }, 'ticket.read', { status: 'dispatched', area_code: saiGon.code, dispatched_area: null })).toBe(true);
    expect(new Set(officers.map((o) => o.username)).size).toBe(officers.length);
  });
});
