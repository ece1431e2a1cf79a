import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/core/engine/classify.ts';
import { REASON_CODES, reasonArgs, type ReasonCode } from '../../src/core/engine/reason-codes.ts';
import { reasonText } from '../../web/lib/reasons.ts';

// Every reason the engine can write reads in Vietnamese in the console: the stored message stays
// English (replay, operators); its code and the arguments read back from it make the sentence.

const names = {
  category: (c: string | null) => ({ giao_thong: 'Giao thông', ngap_nuoc: 'Ngập nước', khac: 'Khác', rac_thai: 'Rác thải' } as Record<string, string>)[c ?? ''] ?? c ?? '—',
  area: (c: string | null) => (c === '26743' ? 'Phường Bến Thành' : c ?? '—'),
};

/** One message per code, in the form the engine writes it (src/core/engine, src/core/tickets/regroup.ts). */
const EXAMPLES: Record<ReasonCode, [message: string, mustSay: string[]]> = {
  identity_invalid: ['ignored an invalid email', ['Email']],
  citizen_anonymous: ['no usable identifier', ['ẩn danh']],
  citizen_new: ['new citizen from phone, email', ['số điện thoại, email']],
  citizen_known: ['known by phone', ['số điện thoại']],
  citizen_merged: ['merged 2 citizens: identifiers phone + email arrived together in one report', ['2 người']],
  category_refined: ['reporter chose khac; topic model: ngap_nuoc (0.81)', ['Ngập nước (81%)']],
  category_from_reporter: ['reporter chose rac_thai', ['Rác thải']],
  category_contradicted: ["text reads as ngap_nuoc (0.91), not the reporter's giao_thong; an agent confirms", ['Ngập nước (91%)', 'Giao thông']],
  category_model: ['topic model: giao_thong (0.66)', ['Giao thông (66%)']],
  category_uncertain: ['unsure; best guess giao_thong (0.37), left for triage', ['Giao thông (37%)', 'chờ điện thoại viên phân loại']],
  area_gps: ['point lies in Phường Bến Thành', ['Phường Bến Thành']],
  area_outside: ['point lies outside every unit', ['ngoài']],
  area_new_name: ['address: phường bến thành -> Phường Bến Thành', ['Phường Bến Thành', 'trong địa chỉ']],
  area_old_address: ['address: ward 12 of district 3 -> Phường Nhiêu Lộc', ['Phường Nhiêu Lộc', 'địa chỉ cũ']],
  area_old_district: ['text: district 1 only -> Phường Sài Gòn', ['Phường Sài Gòn', 'trong nội dung']],
  area_bare_name: ['text: mentions Bến Thành -> Phường Bến Thành', ['Phường Bến Thành']],
  area_ambiguous: ['address: ward 7 of district 8 -> one of Phường Chánh Hưng, Phường Phú Định', ['Phường Chánh Hưng, Phường Phú Định']],
  area_landmark: ['text: names chợ Bến Thành -> Phường Bến Thành', ['chợ Bến Thành thuộc Phường Bến Thành']],
  area_street_table: ["text: hậu giang runs through Phường Bình Tiên alone of its candidates (the city's street table)", ['hậu giang', 'Phường Bình Tiên']],
  area_street: ['text: lê lợi seen in Phường Bến Thành (reports placed by their point or their ward), the only one of its candidates', ['lê lợi', 'Phường Bến Thành']],
  area_likely: ["most of the former ward went to Phường Chánh Hưng (it kept the ward's code or name); an agent confirms", ['Phường Chánh Hưng']],
  area_unknown: ['no unit found; left for triage', ['Chưa xác định']],
  department_by_category: ['giao_thong -> so_gtvt', ['Giao thông → so_gtvt']],
  group_skipped: ['no category: not grouped', ['chưa có lĩnh vực']],
  group_new: ['no open ticket on this incident', ['hồ sơ mới']],
  same_citizen: ['same citizen, same topic as ticket TK-ABCD1234', ['TK-ABCD1234']],
  duplicate: ['same incident: 40 m apart, same words, same topic, within 48 h of its latest report', ['48 giờ']],
  hotspot: ['3 tickets on this topic here were closed in the last 30 days', ['3 hồ sơ', '30 ngày']],
  category_from_ticket: ["topic of the incident's ticket: ngap_nuoc, not giao_thong", ['Ngập nước', 'Giao thông']],
  area_from_ticket: ["unit of the incident's ticket: 26743", ['Phường Bến Thành']],
  area_from_ticket_later: ['unit its ticket got from a later report: 26743', ['Phường Bến Thành', 'phản ánh sau']],
  reopen: ['the reporter of ticket TK-ABCD1234, resolved 3 d ago, says its problem goes on: reopened', ['TK-ABCD1234', '3 ngày trước', 'mở lại']],
  chosen_ticket: ['the reporter chose ticket TK-ABCD1234 (open, ngap_nuoc, 60 m away)', ['TK-ABCD1234', 'Ngập nước', 'cách 60 m']],
  chosen_ticket_refused: ['the reporter chose ticket TK-ABCD1234, but it is about rac_thai, the report about ngap_nuoc; grouped as usual', ['TK-ABCD1234', 'Rác thải', 'Ngập nước']],
  moved_to_new_ticket: ['user:agent1: Không cùng sự việc', ['agent1', 'Không cùng sự việc']],
};

/** Words of the English messages that must never reach the Vietnamese sentence. */
const ENGLISH = /\b(the|of|ticket:|reporter|topic|unsure|guess|left|point|lies|citizen|known|within|incident|agent confirms|no unit)\b/i;

describe('reasons in Vietnamese', () => {
  it.each(REASON_CODES.map((c) => [c]))('%s reads in Vietnamese, with what its message names', (code) => {
    const [message, mustSay] = EXAMPLES[code];
    const args = reasonArgs(code, message);
    const text = reasonText({ code, args }, names);
    for (const s of mustSay) expect(text).toContain(s);
    expect(text).not.toMatch(ENGLISH);
    expect(text).not.toContain('undefined');
    // Without its arguments (a message in another form), the code's meaning is still said in Vietnamese.
    const bare = reasonText({ code, args: reasonArgs(code, 'something else entirely') }, names);
    expect(bare.length).toBeGreaterThan(10);
    expect(bare).not.toMatch(ENGLISH);
    expect(bare).not.toContain('undefined');
  });

  it('knows every code the engine writes (a new one fails here until it has a sentence)', () => {
    const root = path.resolve('src/core');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(path.join(root, f), 'utf8'));
    const written = new Set<string>();
    for (const src of files) for (const m of src.matchAll(/step: '[a-z]+', code: '([a-z_]+)'/g)) written.add(m[1]!);
    // The locate step writes `area_${source}` for the address reader's sources.
    const sources = /source: ('[a-z_]+'(?: \| '[a-z_]+')+);/.exec(readFileSync(path.join(root, 'places/gazetteer.ts'), 'utf8'))![1]!;
    for (const s of sources.matchAll(/'([a-z_]+)'/g)) if (s[1] !== 'none') written.add(`area_${s[1]}`);
    expect(written.size).toBeGreaterThan(25);
    expect([...written].filter((c) => !(REASON_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it("says the ticket's topic for a report whose own topic was unsure", () => {
    const message = "topic of the incident's ticket: xay_dung, the report's own unsure";
    expect(reasonArgs('category_from_ticket', message)).toEqual({ category: 'xay_dung' });
    const text = reasonText({ code: 'category_from_ticket', args: reasonArgs('category_from_ticket', message) }, names);
    expect(text).toContain('chưa rõ lĩnh vực');
    expect(text).not.toMatch(ENGLISH);
    expect(text).not.toContain('null');
  });

  it('reads the classifier\'s own messages back (no drift between the engine\'s words and the reader)', () => {
    const model = {
      labels: ['giao_thong', 'ngap_nuoc'],
      predict: () => ({ code: 'giao_thong', confidence: 0.37, known: 0.9, ranking: [{ code: 'giao_thong', p: 0.37 }, { code: 'ngap_nuoc', p: 0.33 }] }),
    };
    const r = classify('xe cộ', undefined, model as never).reasons[0]!;
    expect(r.code).toBe('category_uncertain');
    expect(reasonArgs(r.code, r.message)).toEqual({ guess: 'giao_thong', confidence: 0.37 });
    expect(reasonText({ code: r.code, args: reasonArgs(r.code, r.message) }, names))
      .toBe('Chưa chắc chắn về lĩnh vực; máy đoán gần nhất là Giao thông (37%), chờ điện thoại viên phân loại');
  });

  it('says an unknown code in Vietnamese, and reads no message beyond its bound', () => {
    expect(reasonText({ code: 'something_new' }, names)).toBe('Lý do khác (something_new)');
    expect(reasonArgs('area_gps', `point lies in ${'x'.repeat(50_000)}`)).toEqual({});
  });
});
