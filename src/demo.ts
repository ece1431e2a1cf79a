import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db/schema.ts';
import type { InboundReport } from './core/report-input.ts';
import type { IntakeService } from './intake/intake-service.ts';
import { upsertUser } from './core/staff/users.ts';

const SEED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../seed/demo-reports.json');

interface DemoReport extends Omit<InboundReport, 'attachments'> {
  channel: string;
  minutes_ago: number;
}

export const DEMO_USERS = [
  { username: 'agent', password: 'tongdai1022', role: 'agent', displayName: 'Điện thoại viên Demo' },
  { username: 'supervisor', password: 'giamsat1022', role: 'supervisor', displayName: 'Giám sát Demo' },
  { username: 'benthanh', password: 'phuong1022', role: 'ward_officer', displayName: 'Cán bộ phường Bến Thành', areaCodes: ['26743'] },
  { username: 'admin', password: 'quantri1022', role: 'admin', displayName: 'Quản trị Demo' },
];

/**
 * Loads the demo reports through the real intake path (stored, queued, processed by the
 * worker) and the demo accounts. Idempotent: each demo report has a fixed external id. With a
 * channel that writes to citizens on (`sending`: SMS, Messenger...), the reports are not loaded:
 * their acknowledgements would text the demo's phone numbers, which may be someone's.
 */
export async function loadDemo(db: Db, intake: IntakeService, now = new Date(), sending: string[] = []): Promise<{ reports: number; users: typeof DEMO_USERS; skipped?: string }> {
  for (const u of DEMO_USERS) await upsertUser(db, u);
  if (sending.length) {
    return { reports: 0, users: DEMO_USERS, skipped: `channels that write to citizens are on (${sending.join(', ')}): the demo reports would text their contacts` };
  }
  const reports = JSON.parse(await readFile(SEED, 'utf8')) as DemoReport[];
  const start = now.getTime();
  let n = 0;
  for (const [i, r] of reports.entries()) {
    const { channel, minutes_ago, ...report } = r;
    const accepted = await intake.accept({
      channel, externalId: `demo-${i + 1}`, payload: r, report: { ...report, attachments: [] },
      receivedAt: new Date(start - minutes_ago * 60_000),
    });
    if (!accepted.replay) n++;
  }
  return { reports: n, users: DEMO_USERS };
}
