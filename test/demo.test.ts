import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo } from '../src/demo.ts';
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
});
