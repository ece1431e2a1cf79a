import { describe, expect, it } from 'vitest';
import { formatDuration, slaView, stageText } from '../../web/lib/sla.ts';
import { SLA_STAGE_VI } from '../../web/lib/labels.ts';
import { SLA_STAGES } from '../../src/core/sla/sla.ts';

// The countdown badges of the console and the ward view (web/lib/sla.ts): the state follows the
// server's rule (warning at 75% of the window from receipt to deadline) and the text says it.

const received = '2025-11-27T08:00:00.000Z';
const due = '2025-11-27T10:00:00.000Z'; // a two-hour window
const at = (minutes: number) => Date.parse(received) + minutes * 60_000;

describe('slaView', () => {
  it.each([
    [0, 'ok', 'Còn 2 giờ 00 phút'],
    [60, 'ok', 'Còn 1 giờ 00 phút'],
    [89.99, 'ok', 'Còn 30 phút'],
    [90, 'warning', 'Sắp hết hạn · còn 30 phút'],
    [115.5, 'warning', 'Sắp hết hạn · còn 4 phút 30 giây'],
    [119.75, 'warning', 'Sắp hết hạn · còn 15 giây'],
    [120, 'breached', 'Quá hạn 0 giây'],
    [132, 'breached', 'Quá hạn 12 phút'],
    [120 + 60 * 27, 'breached', 'Quá hạn 1 ngày 3 giờ'],
  ] as const)('%s min after receipt: %s, "%s"', (minutes, state, text) => {
    const v = slaView(received, due, at(minutes));
    expect(v.state).toBe(state);
    expect(v.text).toBe(text);
  });

  it('has no countdown without a deadline', () => {
    expect(slaView(received, null, at(10))).toMatchObject({ state: 'none', text: 'Không có hạn', remainingMs: null });
    expect(slaView(received, 'not a date', at(10)).state).toBe('none');
  });

  it('treats a deadline at or before receipt as breached once passed, ok before', () => {
    expect(slaView(due, due, at(130)).state).toBe('breached');
    expect(slaView(due, due, at(100)).state).toBe('ok');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 giây'], [59_000, '59 giây'], [61_000, '1 phút 01 giây'], [600_000, '10 phút'],
    [3_600_000, '1 giờ 00 phút'], [3_900_000, '1 giờ 05 phút'], [86_400_000, '1 ngày'], [-125_000, '2 phút 05 giây'],
  ])('%i ms -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('stageText: the countdown of the stage due next, named', () => {
  const triageDue = '2025-11-27T08:15:00.000Z'; // triage: 15 minutes after receipt
  it.each([
    [5, 'Phân loại · còn 10 phút'],
    [12, 'Sắp hết hạn phân loại · còn 3 phút 00 giây'],
    [20, 'Quá hạn phân loại 5 phút 00 giây'],
  ] as const)('%s min after receipt: "%s"', (minutes, text) => {
    expect(stageText(slaView(received, triageDue, at(minutes)), SLA_STAGE_VI.triage!)).toBe(text);
  });

  it('names every SLA stage the server counts (src/core/sla)', () => {
    for (const stage of SLA_STAGES) expect(SLA_STAGE_VI[stage]).toMatch(/\p{L}/u);
  });
});
