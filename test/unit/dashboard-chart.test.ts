import { describe, expect, it } from 'vitest';
import { chart } from '../../src/http/dashboard/svg.ts';

const days = (values: (number | null)[]) => values.map((value, i) => ({ label: `2026-12-0${i + 1}`, value }));
const axisLabels = (svg: string) => [...svg.matchAll(/<text class="axis"[^>]*text-anchor="end"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

describe('dashboard charts (server-rendered SVG)', () => {
  it('labels the value axis without repeating a label (minutes up to 1 had "0, 1, 1")', () => {
    const minutes = chart(days([1, null, 0]), { kind: 'line', title: 't', desc: 'd', format: (v) => `${Math.round(v)}` });
    expect(axisLabels(minutes)).toEqual(['0', '1']);
    const volume = chart(days([3, 7, 10]), { kind: 'bar', title: 't', desc: 'd' });
    expect(axisLabels(volume)).toEqual(['0', '5', '10']);
  });

  it('says there is nothing to show when no day has a value, and only then', () => {
    const none = chart(days([null, null, null]), { kind: 'line', title: 't', desc: 'd' });
    expect(none).toContain('Chưa có số liệu trong kỳ này');
    expect(chart(days([null, 4, null]), { kind: 'line', title: 't', desc: 'd' })).not.toContain('Chưa có số liệu');
  });
});
