import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChannels } from '../channels/index.ts';
import { upsertUser } from '../src/core/staff/users.ts';
import type { Runtime } from '../src/runtime.ts';
import { fakeChannel, fakeProvider } from './fixtures/fake-channel/index.ts';
import { signIn, staffClient, testRuntime } from './support/runtime.ts';

// A channel is one folder and one registry line: test/fixtures/fake-channel declares its name,
// label, settings, routes, parser, sender and poll, and this runtime's registry adds it. Nothing
// else of the code names it, yet it receives reports, shows on the console with its label and
// answers the citizen through the line the report came in on.

const TOKEN = 'fake-secret-1022';
const registry = [...allChannels, fakeChannel];

describe('a channel added by one registry line', () => {
  let rt: Runtime;
  let agent: ReturnType<typeof staffClient>;
  beforeAll(async () => {
    rt = await testRuntime({ FAKE_CHANNEL_TOKEN: TOKEN }, { channels: registry });
    await upsertUser(rt.handle.db, { username: 'kit-agent', password: 'password-1', role: 'agent' });
    agent = staffClient(rt, await signIn(rt, 'kit-agent', 'password-1'));
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('takes reports on its own path, keeps the line they came in on, and refuses a bad signature', async () => {
    const post = (body: unknown, token = TOKEN) => rt.app.request('/channels/fake/inbound', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-fake-token': token }, body: JSON.stringify(body),
    });
    expect((await post({ id: 'f-0', text: 'x' }, 'wrong-token')).status).toBe(403);
    const res = await post({ id: 'f-1', line: 'line-2', from: '0903 777 888', text: 'Nước ngập sâu trước chợ Bến Thành, xe chết máy' });
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const report = await rt.handle.db.selectFrom('reports').select(['channel', 'endpoint', 'ticket_id', 'area_code']).where('code', '=', code).executeTakeFirstOrThrow();
    expect(report).toMatchObject({ channel: 'fake', endpoint: 'line-2', area_code: '26743' });
  });

  it('shows on the console with its label and colours, and in the queue', async () => {
    const meta = (await (await agent.get('/api/console/meta')).json()) as { channels: { name: string; label: { vi: string; background: string }; enabled: boolean }[] };
    expect(meta.channels.find((c) => c.name === 'fake')).toEqual({
      name: 'fake', label: { vi: 'Kênh thử nghiệm', en: 'Test channel', background: '#fde7e9', text: '#8a1020' }, enabled: true,
    });
    expect(meta.channels.map((c) => c.name)).toEqual(registry.map((c) => c.name));
    const queue = (await (await agent.get('/api/console/queue?channel=fake')).json()) as { items: { channels: string[] }[] };
    expect(queue.items.length).toBeGreaterThan(0);
    expect(queue.items.every((i) => i.channels.includes('fake'))).toBe(true);
  });

  it('answers the citizen through its sender, on the line the report came in on, with its settings', async () => {
    const queue = (await (await agent.get('/api/console/queue?channel=fake')).json()) as { items: { code: string }[] };
    const ticket = queue.items[0]!.code;
    const before = fakeProvider.sent.length;
    expect((await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Đội thoát nước đang đến.' })).status).toBe(200);
    await rt.worker.idle();
    const sent = fakeProvider.sent.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ token: TOKEN, message: { channel: 'fake', endpoint: 'line-2', body: 'Đội thoát nước đang đến.', ticketCode: ticket, contact: { phone: '0903 777 888' } } });
    const row = await rt.handle.db.selectFrom('outbound_messages').select(['status', 'error']).where('channel', '=', 'fake').executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'sent', error: null });
  });

  it('runs its poll on the leader', async () => {
    const at = fakeProvider.polls;
    await new Promise((r) => setTimeout(r, 200));
    expect(rt.leader.isLeader()).toBe(true);
    expect(fakeProvider.polls).toBeGreaterThan(at);
  });
});

describe('a channel whose settings are absent or wrong', () => {
  it('is off without its settings: no routes, named on the console as off', async () => {
    const rt = await testRuntime({}, { channels: registry, startWorker: false });
    try {
      expect((await rt.app.request('/channels/fake/inbound', { method: 'POST' })).status).toBe(404);
      expect(rt.channels.map((c) => c.adapter.name)).toEqual(allChannels.filter((c) => !c.settings).map((c) => c.name));
      await upsertUser(rt.handle.db, { username: 'kit-agent2', password: 'password-1', role: 'agent' });
      const agent = staffClient(rt, await signIn(rt, 'kit-agent2', 'password-1'));
      const meta = (await (await agent.get('/api/console/meta')).json()) as { channels: { name: string; enabled: boolean }[] };
      expect(meta.channels.find((c) => c.name === 'fake')?.enabled).toBe(false);
    } finally {
      await rt.close();
    }
  });

  it('stops the start, naming the channel and the key, when its settings are set but not valid', async () => {
    await expect(testRuntime({ FAKE_CHANNEL_TOKEN: 'short' }, { channels: registry, startWorker: false }))
      .rejects.toThrow(/channel fake: FAKE_CHANNEL_TOKEN: must be at least 8 characters/);
  });
});
