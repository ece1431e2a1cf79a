import { describe, expect, it } from 'vitest';
import { decideReopen, type CandidateTicket, type GroupInput } from '../../src/core/engine/grouping.ts';
import { answerSince, feedbackRefusal, type FeedbackAnswer, type FeedbackState } from '../../src/core/tickets/feedback.ts';
import { slaClock, slaState, DEFAULT_SLA_TARGETS } from '../../src/core/sla/sla.ts';

// Issue 16, residents 4: the pure decisions behind "confirm or reopen" (core/tickets/feedback.ts)
// and the engine's reading of a reporter's "vẫn chưa sửa" (core/engine/grouping.ts, decideReopen).

const NOW = new Date('2026-11-20T09:00:00+07:00');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const BEN_THANH = { lat: 10.7725, lng: 106.698 };

function ticket(over: Partial<CandidateTicket> = {}): CandidateTicket {
  return {
    id: 7, code: 'TK-AAAA1111', category_code: 'thoat_nuoc', area_code: '26734', ...BEN_THANH, cell: null, status: 'resolved',
    received_at: daysAgo(10), last_report_at: daysAgo(10), closed_at: null, resolved_at: daysAgo(2), words: '', wordReports: 0,
    keys: new Set(), candidates: [], ...over,
  };
}

function input(over: Partial<GroupInput> = {}): GroupInput {
  return { citizenId: 1, category: 'thoat_nuoc', areaCode: '26734', text: 'Cống vẫn chưa được khắc phục, nước tràn lên vỉa hè', receivedAt: NOW, ...over };
}

describe('decideReopen: a reporter says the problem of their resolved ticket goes on', () => {
  it.each<[string, Partial<GroupInput>, Partial<CandidateTicket>[], number | null]>([
    ['"vẫn chưa" about their ticket resolved 2 days ago', {}, [{}], 7],
    ['without accents', { text: 'cong van chua thong, nuoc van ngap' }, [{}], 7],
    ['"hư lại" six days after', { text: 'Cống hư lại rồi' }, [{ resolved_at: daysAgo(6.9) }], 7],
    ['words that do not say it goes on', { text: 'Cống bị nghẹt, nước tràn lên vỉa hè' }, [{}], null],
    ['more than 7 days after the resolution', {}, [{ resolved_at: daysAgo(7.1) }], null],
    ['a ticket not resolved (closed, or open again)', {}, [{ status: 'closed' }, { id: 8, status: 'triaged' }], null],
    ['another unit', { areaCode: '26737' }, [{}], null],
    ['another topic, the classifier sure', { category: 'chieu_sang', categoryConfidence: 0.9 }, [{}], null],
    ['another topic, the classifier unsure', { category: 'chieu_sang', categoryConfidence: 0.3 }, [{}], 7],
    ['its alternative topic', { category: 'chieu_sang', categoryConfidence: 0.9, alternatives: ['thoat_nuoc'] }, [{}], 7],
    ['a point 2 km away', { lat: BEN_THANH.lat + 0.018, lng: BEN_THANH.lng }, [{}], null],
    ['a point 300 m away', { lat: BEN_THANH.lat + 0.0027, lng: BEN_THANH.lng }, [{}], 7],
    ['the latest resolved of two on the topic', {}, [{ id: 9, code: 'TK-BBBB2222', resolved_at: daysAgo(1) }, {}], 9],
    ['no topic or place, one resolved ticket', { category: null, areaCode: null, text: 'vẫn chưa sửa' }, [{}], 7],
    ['no topic or place, two resolved tickets: which one is a guess', { category: null, areaCode: null, text: 'vẫn chưa sửa' }, [{}, { id: 9 }], null],
    ['no resolved ticket of theirs', {}, [], null],
  ])('%s', (_what, g, theirs, want) => {
    const d = decideReopen(input(g), theirs.map((t) => ticket(t)));
    expect(d?.ticketId ?? null).toBe(want);
    if (d) {
      expect(d.relation).toBe('reopen');
      expect(d.reasons[0]).toMatchObject({ step: 'group', code: 'reopen' });
      expect(d.reasons[0]!.message).toMatch(/says its problem goes on: reopened/);
    }
  });
});

describe('feedbackRefusal: one answer per report per resolution, within 7 days', () => {
  const state = (over: Partial<FeedbackState> = {}): FeedbackState => ({ status: 'resolved', resolvedAt: daysAgo(1), answered: null, ...over });
  it.each<[string, Partial<FeedbackState>, FeedbackAnswer, string | null]>([
    ['confirm a resolution of yesterday', {}, 'confirmed', null],
    ['reopen it', {}, 'reopened', null],
    ['confirm twice: nothing to do', { answered: 'confirmed' }, 'confirmed', 'noop'],
    ['reopen after confirming', { answered: 'confirmed' }, 'reopened', 'ticket_already_confirmed'],
    ['confirm after reopening (the ticket open again)', { answered: 'reopened', status: 'triaged' }, 'confirmed', 'ticket_already_reopened'],
    ['reopen twice', { answered: 'reopened', status: 'triaged' }, 'reopened', 'ticket_already_reopened'],
    ['a ticket in progress', { status: 'in_progress', resolvedAt: null }, 'confirmed', 'ticket_not_resolved'],
    ['a ticket another reporter reopened', { status: 'triaged' }, 'reopened', 'ticket_not_resolved'],
    ['a closed ticket', { status: 'closed' }, 'reopened', 'ticket_not_resolved'],
    ['on the seventh day', { resolvedAt: daysAgo(6.99) }, 'reopened', null],
    ['after seven days', { resolvedAt: daysAgo(7.01) }, 'reopened', 'reopen_window_closed'],
    ['confirm after seven days', { resolvedAt: daysAgo(8) }, 'confirmed', 'reopen_window_closed'],
  ])('%s', (_what, over, answer, want) => {
    const r = feedbackRefusal(state(over), answer, NOW);
    expect(r === null || r === 'noop' ? r : r.code).toBe(want);
    if (r && r !== 'noop') {
      expect(r.status).toBe(409);
      expect(r.messageVi).toMatch(/[ạảãáàâấầẩẫậăắằẳẵặđêếềểễệôốồổỗộơớờởỡợưứừửữự]/);
    }
  });

  it('reads the answer a report gave to the latest resolution only', () => {
    const e = (type: string, report?: string) => ({ type, data: report ? { report } : {} });
    expect(answerSince([e('ticket.resolved'), e('ticket.confirmed', 'PA-1')], 'PA-1')).toBe('confirmed');
    expect(answerSince([e('ticket.resolved'), e('ticket.confirmed', 'PA-2')], 'PA-1')).toBe(null);
    expect(answerSince([e('ticket.resolved'), e('ticket.reopened', 'PA-1'), e('ticket.resolved')], 'PA-1')).toBe(null);
    expect(answerSince([e('ticket.resolved'), e('ticket.reopened', 'PA-1')], 'PA-1')).toBe('reopened');
  });
});

describe('a reopened ticket\'s SLA clock', () => {
  it('runs from the reopening: due again, not breached by its old clock', () => {
    const old = { status: 'triaged', received_at: daysAgo(10) };
    expect(slaState(old, DEFAULT_SLA_TARGETS, NOW).state).toBe('breached');
    const reopened = { ...old, reopened_at: new Date(NOW.getTime() - 10 * 60_000) };
    expect(slaClock(reopened)).toEqual(reopened.reopened_at);
    const s = slaState(reopened, DEFAULT_SLA_TARGETS, NOW);
    expect(s).toMatchObject({ stage: 'dispatch', state: 'ok' });
    expect(s.dueAt).toEqual(new Date(reopened.reopened_at.getTime() + DEFAULT_SLA_TARGETS.dispatch * 60_000));
    expect(s.resolveDueAt).toEqual(new Date(reopened.reopened_at.getTime() + DEFAULT_SLA_TARGETS.resolve * 60_000));
  });
});
