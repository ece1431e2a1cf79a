// The replay command always runs on its own in-memory database, so this file runs once.
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/replay.ts';
import { pgliteTemplate } from '../support/db.ts';

async function replay(lines: string[], opts: { areasFile?: string; areaCodeProp?: string; areaNameProp?: string; batchSize?: number } = {}) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const summary = await runReplay({ input: Readable.from([lines.join('\n')]), output: out, template: await pgliteTemplate(), ...opts });
  out.end();
  const rows = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  return { summary, rows, byId: new Map(rows.filter((r) => r.id).map((r) => [r.id, r])) };
}

const L = (o: Record<string, unknown>) => JSON.stringify(o);

describe('phananh replay', { timeout: 120_000 }, () => {
  it('groups one citizen across channels, neighbours on one incident, and routes old and new addresses', async () => {
    const { rows, byId, summary } = await replay([
      // given out of order on purpose: the run goes by received_at
      L({ id: 'c', received_at: '2026-11-20T08:10:00+07:00', channel: 'email', citizen: { email: 'an@example.vn', phone: '+84903123456' }, text: 'Khu vực chợ Bến Thành bị ngập nước nặng', address: 'phường Bến Thành' }),
      L({ id: 'a', received_at: '2026-11-20T08:00:00+07:00', channel: 'phone', citizen: { phone: '0903 123 456' }, text: 'Nước ngập sâu trước chợ Bến Thành', lat: 10.7725, lng: 106.698 }),
      L({ id: 'b', received_at: '2026-11-20T08:05:00+07:00', channel: 'facebook', citizen: { facebook_id: '100023456789012' }, text: 'Ngập nước quá trời trước chợ Bến Thành, xe chết máy', lat: 10.7731, lng: 106.6987 }),
      L({ id: 'd', received_at: '2026-11-20T23:10:00+07:00', channel: 'app', citizen: { phone: '0987111222' }, text: 'Karaoke hát to quá khuya không ngủ được', address: 'P12 Q3' }),
      L({ id: 'e', received_at: '2026-11-21T09:00:00+07:00', text: 'Đèn đường hư tối om', address: 'phuong ben nghe quan 1' }),
    ]);
    expect(summary).toMatchObject({ processed: 5, errors: 0 });
    expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(byId.get('a')).toMatchObject({ relation: 'new', parent_id: 'a', area_code: '26743', category: 'ngap_nuoc' });
    expect(byId.get('b')).toMatchObject({ relation: 'duplicate', parent_id: 'a', ticket: byId.get('a')!.ticket });
    expect(byId.get('c')).toMatchObject({ relation: 'same_citizen', parent_id: 'a', ticket: byId.get('a')!.ticket, area_code: '26743' });
    expect(byId.get('d')).toMatchObject({ relation: 'new', area_code: '27142', category: 'tieng_on' });
    expect(byId.get('e')).toMatchObject({ area_code: '26740' });
    expect(byId.get('b')!.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ step: 'group', code: 'duplicate' })]));
    expect(typeof byId.get('b')!.score).toBe('number');
  });

  it('reports a bad line by its number and goes on', async () => {
    const { rows } = await replay([
      L({ id: 'ok1', received_at: '2026-11-20T08:00:00Z', text: 'Rác thải bốc mùi' }),
      '{not json',
      L({ id: 'no-date', text: 'x' }),
      L({ received_at: '2026-11-20T08:00:00Z', text: 'no id' }),
      L({ id: 'bad-lat', received_at: '2026-11-20T08:00:00Z', lat: 'north', lng: 106 }),
      L({ id: 'ok2', received_at: '2026-11-20T09:00:00Z' }),
    ]);
    const errors = rows.filter((r) => r.error);
    expect(errors.map((e) => [e.line, e.error.code])).toEqual([
      [2, 'invalid_json'], [3, 'replay_received_at_invalid'], [4, 'replay_id_missing'], [5, 'coordinates_invalid'],
    ]);
    expect(errors[0]!.error.message).toContain('line 2');
    expect(rows.filter((r) => !r.error).map((r) => r.id)).toEqual(['ok1', 'ok2']);
  });

  it("uses another city's units and its category strings as opaque keys", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'replay-'));
    const file = path.join(dir, 'city.geojson');
    const square = (x: number, y: number) => [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]];
    writeFileSync(file, JSON.stringify({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { ma: 'N1', ten: 'Ward North' }, geometry: { type: 'Polygon', coordinates: square(1, 1) } },
        { type: 'Feature', properties: { ma: 'S1', ten: 'Ward South' }, geometry: { type: 'Polygon', coordinates: square(1, 0.98) } },
      ],
    }));
    const { byId } = await replay([
      L({ id: '1', received_at: '2026-01-01T10:00:00Z', category: 'pothole', lat: 1.005, lng: 1.005, text: 'hole in road' }),
      L({ id: '2', received_at: '2026-01-01T11:00:00Z', category: 'pothole', lat: 1.0052, lng: 1.0051, text: 'big hole' }),
      L({ id: '3', received_at: '2026-01-01T11:00:00Z', category: 'graffiti', lat: 0.985, lng: 1.005, text: 'paint on wall' }),
    ], { areasFile: file, areaCodeProp: 'ma', areaNameProp: 'ten' });
    expect(byId.get('1')).toMatchObject({ area_code: 'N1', category: 'pothole', relation: 'new' });
    expect(byId.get('2')).toMatchObject({ area_code: 'N1', relation: 'duplicate', parent_id: '1' });
    expect(byId.get('3')).toMatchObject({ area_code: 'S1', category: 'graffiti', relation: 'new' });
  });

  it("keeps a lasting problem's ticket open to repeats for a week after its latest report, and an event's for hours; a vague repeat saying it goes on joins the unit's one such ticket", async () => {
    const at = (day: number, hour: number) => `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00+07:00`;
    const { byId, summary } = await replay([
      // A dead street light: reported again three and a half days later, then nine days after that.
      L({ id: 'l1', received_at: at(2, 8), category: 'chieu_sang', citizen: { phone: '0901000001' }, text: 'Đèn đường không sáng', lat: 10.7725, lng: 106.698 }),
      L({ id: 'l2', received_at: at(5, 20), category: 'chieu_sang', citizen: { phone: '0901000002' }, text: 'Cột đèn tắt mấy hôm nay', lat: 10.77262, lng: 106.69805 }),
      L({ id: 'l3', received_at: at(14, 21), category: 'chieu_sang', citizen: { phone: '0901000003' }, text: 'Đèn lại hỏng', lat: 10.7725, lng: 106.698 }),
      // A flood, and the same street flooded again by the next day's rain.
      L({ id: 'f1', received_at: at(3, 16), category: 'ngap_nuoc', citizen: { phone: '0901000004' }, text: 'Ngập sâu sau mưa', lat: 10.7765, lng: 106.7005 }),
      L({ id: 'f2', received_at: at(4, 15), category: 'ngap_nuoc', citizen: { phone: '0901000005' }, text: 'Mưa xong lại ngập', lat: 10.7766, lng: 106.7006 }),
      // Rubbish named in words only: the same house two days later joins, and so does the same
      // street four days later; the same street by another spot (a landmark, a house) days after
      // that does not.
      L({ id: 'r1', received_at: at(6, 9), category: 'rac_thai', citizen: { phone: '0901000006' }, text: 'Rác đổ bừa bãi trước nhà 45 Nguyễn Trãi, phường Bến Thành, bốc mùi hôi' }),
      L({ id: 'r2', received_at: at(8, 10), category: 'rac_thai', citizen: { phone: '0901000007' }, text: 'Trước số 45 Nguyễn Trãi phường Bến Thành rác vẫn chưa dọn' }),
      L({ id: 's1', received_at: at(6, 9), category: 'rac_thai', citizen: { phone: '0901000008' }, text: 'Bãi rác tự phát trên đường Lê Thánh Tôn gần chợ Bến Thành, phường Bến Thành' }),
      L({ id: 's2', received_at: at(10, 11), category: 'rac_thai', citizen: { phone: '0901000009' }, text: 'Đường Lê Thánh Tôn phường Bến Thành vẫn còn bãi rác tự phát' }),
      L({ id: 's3', received_at: at(12, 15), category: 'rac_thai', citizen: { phone: '0901000010' }, text: 'Rác đổ trên đường Lê Thánh Tôn trước Bảo tàng Mỹ Thuật, phường Bến Thành' }),
      // Days later by a house number, against tickets known by landmarks: another spot of the street.
      L({ id: 's4', received_at: at(15, 9), category: 'rac_thai', citizen: { phone: '0901000011' }, text: 'Rác chất đống trước số 80 Lê Thánh Tôn, phường Bến Thành' }),
      // Known by words only (a call naming the ward), then a point with a vague text three days
      // later saying the problem goes on ("vẫn"): the one open ticket on the topic in the unit.
      L({ id: 'p1', received_at: at(2, 9), category: 'lan_chiem', citizen: { phone: '0902000001' }, text: 'Quán cà phê bày bàn ghế chiếm hết vỉa hè trước số 120 Nguyễn Thị Minh Khai, phường Xuân Hòa' }),
      L({ id: 'p2', received_at: at(5, 18), channel: 'app', category: 'lan_chiem', citizen: { phone: '0902000002' }, text: 'Vỉa hè vẫn bị chiếm, người đi bộ phải xuống lòng đường', lat: 10.7783, lng: 106.6911 }),
      // The same shape without such words: another lamp of the ward, a new ticket.
      L({ id: 'c1', received_at: at(2, 20), category: 'chieu_sang', citizen: { phone: '0902000003' }, text: 'Đèn đường trước số 10 Lê Duẩn, phường Sài Gòn không sáng' }),
      L({ id: 'c2', received_at: at(5, 20), channel: 'app', category: 'chieu_sang', citizen: { phone: '0902000004' }, text: 'Đèn đường tắt, tối thui', lat: 10.77978, lng: 106.69902 }),
    ]);
    expect(summary.errors).toBe(0);
    expect(byId.get('l2')).toMatchObject({ ticket: byId.get('l1')!.ticket, relation: 'duplicate' });
    expect(byId.get('l2')!.reasons.find((r: { step: string }) => r.step === 'group').message).toContain('within 168 h of its latest report');
    expect(byId.get('l3')).toMatchObject({ relation: 'new' });
    expect(byId.get('l3')!.ticket).not.toBe(byId.get('l1')!.ticket);
    expect(byId.get('f2')!.ticket).not.toBe(byId.get('f1')!.ticket);
    expect(byId.get('r2')).toMatchObject({ ticket: byId.get('r1')!.ticket, relation: 'duplicate' });
    expect(byId.get('s1')!.ticket).not.toBe(byId.get('r1')!.ticket);
    expect(byId.get('s2')).toMatchObject({ ticket: byId.get('s1')!.ticket, relation: 'duplicate' });
    expect(byId.get('s3')).toMatchObject({ relation: 'new' });
    expect(byId.get('s4')).toMatchObject({ relation: 'new' });
    expect(byId.get('p2')).toMatchObject({ ticket: byId.get('p1')!.ticket, relation: 'duplicate', area_code: '27139' });
    expect(byId.get('p2')!.reasons.find((r: { step: string }) => r.step === 'group').message).toContain('saying its problem goes on');
    expect(byId.get('c2')).toMatchObject({ relation: 'new', area_code: byId.get('c1')!.area_code });
  });

  it('compares places by their strongest shared evidence: a near house number joins, far ones on the same street stay apart, and words naming no unit for sure join by house, in the unit a1 taught the street is in', async () => {
    const at = (hour: number, minute = 0) => `2026-11-20T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00+07:00`;
    const { byId, summary } = await replay([
      L({ id: 'a1', received_at: at(8), channel: 'phone', category: 'lan_chiem', citizen: { phone: '0902000001' }, text: 'Quán nhậu lấn chiếm vỉa hè trước số 120 Nguyễn Thị Minh Khai, phường Bàn Cờ' }),
      // Other words, no diacritics, initials for the street, a house four numbers on.
      L({ id: 'a2', received_at: at(9), channel: 'sms', category: 'lan_chiem', citizen: { phone: '0902000002' }, text: 'ban ghe bay het le duong o 124 NTMK p Ban Co, xe khong di duoc' }),
      // The same street 800 numbers away, in nearly the same words: another place.
      L({ id: 'a3', received_at: at(10), channel: 'phone', category: 'lan_chiem', citizen: { phone: '0902000003' }, text: 'Quán nhậu lấn chiếm vỉa hè trước số 920 Nguyễn Thị Minh Khai, phường Bàn Cờ' }),
      // An old district alone (several units) and the same house as a1: joins, and is in a1's unit
      // (a1 named its ward: where Nguyễn Thị Minh Khai runs).
      L({ id: 'a4', received_at: at(11), channel: 'email', category: 'lan_chiem', citizen: { email: 'b@example.vn' }, text: 'Vỉa hè trước 120 Nguyễn Thị Minh Khai quận 3 bị chiếm hết' }),
      // Thirty numbers from a1: beyond lấn chiếm's reach (80 m: 20 numbers), another spot.
      L({ id: 'a5', received_at: at(12), channel: 'phone', category: 'lan_chiem', citizen: { phone: '0902000005' }, text: 'Hàng rong lấn chiếm vỉa hè trước số 150 Nguyễn Thị Minh Khai, phường Bàn Cờ' }),
      // 140, "ng" for Nguyễn: near both (20 from a1, 10 from a5); the nearer one is the incident.
      L({ id: 'a6', received_at: at(13), channel: 'sms', category: 'lan_chiem', citizen: { phone: '0902000006' }, text: 'lan chiem via he truoc so 140 ng thi minh khai p ban co' }),
      // A house in the alley that opens at 212 of the same street, within the hour: another spot
      // (an alley's number is where along the street it opens), not the street's ticket.
      L({ id: 'a7', received_at: at(13, 30), channel: 'phone', category: 'lan_chiem', citizen: { phone: '0902000007' }, text: 'Lấn chiếm vỉa hè trước nhà 212/5 Nguyễn Thị Minh Khai, P. Bàn Cờ' }),
    ]);
    expect(summary.errors).toBe(0);
    expect(byId.get('a2')).toMatchObject({ ticket: byId.get('a1')!.ticket, relation: 'duplicate' });
    expect(byId.get('a2')!.reasons.find((r: { code: string }) => r.code === 'duplicate').message).toContain('near house number on the same street');
    expect(byId.get('a3')!.ticket).not.toBe(byId.get('a1')!.ticket);
    expect(byId.get('a4')).toMatchObject({ ticket: byId.get('a1')!.ticket, relation: 'duplicate', area_code: byId.get('a1')!.area_code });
    expect(byId.get('a4')!.reasons.map((r: { code: string }) => r.code)).toEqual(expect.arrayContaining(['area_ambiguous', 'area_street']));
    expect(byId.get('a5')!.ticket).not.toBe(byId.get('a1')!.ticket);
    expect(byId.get('a6')).toMatchObject({ ticket: byId.get('a5')!.ticket, relation: 'duplicate' });
    expect(byId.get('a7')).toMatchObject({ relation: 'new' });
  });

  // A market the city's list lacks (the list's own are placed by it: area_landmark).
  it("takes the unit of the incident's ticket when its words leave several, and joins it by a landmark", async () => {
    const { byId, summary } = await replay([
      L({ id: 'm1', received_at: '2026-11-20T08:00:00+07:00', channel: 'phone', citizen: { phone: '0907000001' }, text: 'Công dân phản ánh tiểu thương bày hàng lấn chiếm lòng đường quanh chợ Nguyễn Văn Trỗi, phường Xuân Hòa' }),
      L({ id: 'm2', received_at: '2026-11-20T10:00:00+07:00', channel: 'facebook', citizen: { facebook_id: '100000000000001' }, text: 'Quanh chợ Nguyễn Văn Trỗi quận 3 buôn bán tràn xuống lòng đường, xe không đi được' }),
    ]);
    expect(summary.errors).toBe(0);
    expect(byId.get('m2')).toMatchObject({ ticket: byId.get('m1')!.ticket, relation: 'duplicate', area_code: byId.get('m1')!.area_code });
    expect(byId.get('m2')!.reasons.map((r: { code: string }) => r.code)).toEqual(expect.arrayContaining(['area_ambiguous', 'area_from_ticket']));
    expect(byId.get('m2')!.reasons.find((r: { code: string }) => r.code === 'duplicate').message).toContain('same landmark (cho nguyen van troi)');
  });

  it.each([[32], [1]])("routes a report read without a unit with its ticket once a later report places it (batches of %i)", async (batchSize) => {
    const { byId } = await replay([
      // A street the city's list lacks: the first two give no unit; the third brings a point.
      L({ id: 'k0', received_at: '2026-11-02T08:00:00+07:00', channel: 'sms', category: 'cay_xanh', citizen: { phone: '0906100001' }, text: 'Cây ngã chắn ngang đường Kỳ Lân Cũ, xe không qua được' }),
      L({ id: 'k1', received_at: '2026-11-02T08:05:00+07:00', channel: 'sms', category: 'cay_xanh', citizen: { phone: '0906100002' }, text: 'Cay do chan duong Ky Lan Cu' }),
      L({ id: 'k2', received_at: '2026-11-02T08:10:00+07:00', channel: 'app', category: 'cay_xanh', citizen: { phone: '0906100003' }, text: 'Cây đổ chắn đường', address: 'đường Kỳ Lân Cũ', lat: 10.7769, lng: 106.7009 }),
    ], { batchSize });
    for (const id of ['k0', 'k1']) {
      expect(byId.get(id)).toMatchObject({ ticket: byId.get('k2')!.ticket, area_code: '26740' });
      expect(byId.get(id)!.reasons.map((r: { code: string }) => r.code)).toEqual(expect.arrayContaining(['area_unknown', 'area_from_ticket_later']));
    }
    expect(byId.get('k2')!.reasons.map((r: { code: string }) => r.code)).not.toContain('area_from_ticket_later');
  });

  it('does not route earlier reports with a guessed unit, nor with a unit their words exclude', async () => {
    const { byId } = await replay([
      // The second report's unit is a guess (a divided former ward, for an agent to confirm).
      L({ id: 'q0', received_at: '2026-11-02T08:00:00+07:00', channel: 'sms', category: 'cay_xanh', citizen: { phone: '0906100001' }, text: 'Cây ngã chắn ngang đường Kỳ Lân Cũ, xe không qua được' }),
      L({ id: 'q1', received_at: '2026-11-02T08:05:00+07:00', channel: 'sms', category: 'cay_xanh', citizen: { phone: '0906100002' }, text: 'Cây đổ chắn đường Kỳ Lân Cũ ở phường Tân Tạo A, quận Bình Tân cũ' }),
      // The call's words leave three units of the former Tân Phú; the app's point is in Phường Sài Gòn.
      L({ id: 'r0', received_at: '2026-11-23T06:40:00+07:00', channel: 'phone', citizen: { phone: '0906000005' }, text: 'Công dân phản ánh vỡ ống cấp nước trên đường Lũy Bán Bích đoạn giao Hòa Bình, quận Tân Phú, cả khu phố bị mất nước' }),
      L({ id: 'r1', received_at: '2026-11-23T06:52:00+07:00', channel: 'app', category: 'cap_nuoc', citizen: { phone: '0906000006' }, text: 'bể ống nước, nước phun lên thành cột', address: 'đường Lũy Bán Bích', lat: 10.7769, lng: 106.7009 }),
    ]);
    expect(byId.get('q1')).toMatchObject({ ticket: byId.get('q0')!.ticket, area_code: '27457' });
    expect(byId.get('q1')!.reasons.map((r: { code: string }) => r.code)).toContain('area_likely');
    expect(byId.get('q0')).toMatchObject({ area_code: null });
    expect(byId.get('r1')).toMatchObject({ ticket: byId.get('r0')!.ticket, area_code: '26740' });
    expect(byId.get('r0')).toMatchObject({ area_code: null });
    for (const id of ['q0', 'r0']) expect(byId.get(id)!.reasons.map((r: { code: string }) => r.code)).not.toContain('area_from_ticket_later');
  });

  it('does not join by alike words alone a ticket only perhaps in the unit (its words named a district)', async () => {
    const { byId } = await replay([
      L({ id: 'v1', received_at: '2026-11-20T08:00:00+07:00', channel: 'sms', citizen: { phone: '0909000001' }, text: 'Rac do day hem, boc mui hoi qua, quan 12' }),
      L({ id: 'v2', received_at: '2026-11-20T09:00:00+07:00', channel: 'sms', citizen: { phone: '0909000002' }, text: 'Rac do day hem, boc mui hoi qua, phuong Dong Hung Thuan' }),
    ]);
    expect(byId.get('v1')).toMatchObject({ area_code: null, relation: 'new' });
    expect(byId.get('v2')).toMatchObject({ area_code: '26791', relation: 'new' });
  });

  it("reads an e-mail's subject and body as separate sentences: a landmark ending the subject does not run into the greeting", async () => {
    const { byId } = await replay([
      L({ id: 'n1', received_at: '2026-11-20T08:00:00+07:00', channel: 'email', citizen: { email: 'dan@example.vn' }, text: 'Lấn chiếm lòng đường quanh chợ Phạm Văn Hai\n\nKính gửi UBND phường Tân Sơn Hoà,\nBuổi sáng các hộ bày hàng tràn xuống lòng đường, xe không qua được.' }),
      L({ id: 'n2', received_at: '2026-11-22T08:00:00+07:00', channel: 'phone', citizen: { phone: '0909000003' }, text: 'Công dân phản ánh buôn bán lấn chiếm lòng đường quanh chợ Phạm Văn Hai (quận Tân Bình cũ), giờ cao điểm rất dễ va chạm.' }),
    ]);
    expect(byId.get('n2')).toMatchObject({ ticket: byId.get('n1')!.ticket, relation: 'duplicate' });
    expect(byId.get('n2')!.reasons.find((r: { code: string }) => r.code === 'duplicate').message).toContain('same landmark');
  });

  it("joins a report whose chosen topic the text overruled to its incident's ticket on that topic at the same house, and gives it the ticket's topic", async () => {
    const { byId } = await replay([
      L({ id: 'p1', received_at: '2026-11-20T08:00:00+07:00', channel: 'phone', citizen: { phone: '0902000001' }, text: 'Ổ gà sâu trước nhà 88 Huỳnh Tấn Phát phường Tân Thuận, xe máy té liên tục' }),
      // The resident chose "traffic"; the words read as drainage (a broken manhole cover).
      L({ id: 'p2', received_at: '2026-11-20T10:00:00+07:00', channel: 'app', citizen: { phone: '0902000002' }, category: 'giao_thong', text: 'Trước số 88 Huỳnh Tấn Phát nắp hố ga bị bể, hở một lỗ lớn', address: '88 Huỳnh Tấn Phát, Tân Thuận' }),
      // Drainage with nothing else chosen, at the same house: another problem, its own ticket.
      L({ id: 'p3', received_at: '2026-11-20T11:00:00+07:00', channel: 'sms', citizen: { phone: '0902000003' }, text: 'Truoc so 88 Huynh Tan Phat phuong Tan Thuan nap ho ga bi bung, nuoc dong' }),
    ]);
    expect(byId.get('p1')).toMatchObject({ category: 'giao_thong', relation: 'new' });
    expect(byId.get('p2')).toMatchObject({ ticket: byId.get('p1')!.ticket, relation: 'duplicate', category: 'giao_thong' });
    const codes = byId.get('p2')!.reasons.map((r: { code: string }) => r.code);
    expect(codes).toEqual(expect.arrayContaining(['category_contradicted', 'duplicate', 'category_from_ticket']));
    expect(byId.get('p3')).toMatchObject({ category: 'ngap_nuoc', relation: 'new' });
  });

  it('joins a report on another of its topics by the same street within hours, not days later', async () => {
    const { byId } = await replay([
      L({ id: 'q1', received_at: '2026-11-20T08:00:00+07:00', channel: 'phone', citizen: { phone: '0908000001' }, text: 'Công dân phản ánh ổ gà lớn giữa đường Huỳnh Tấn Phát, phường Tân Thuận' }),
      L({ id: 'q2', received_at: '2026-11-20T09:30:00+07:00', channel: 'app', citizen: { phone: '0908000002' }, category: 'giao_thong', text: 'Nắp hố ga bị bể, hở một lỗ lớn', address: 'Huỳnh Tấn Phát, Tân Thuận' }),
      L({ id: 'q3', received_at: '2026-11-23T09:30:00+07:00', channel: 'app', citizen: { phone: '0908000003' }, category: 'giao_thong', text: 'Nắp hố ga bị bể, hở một lỗ lớn', address: 'Huỳnh Tấn Phát, Tân Thuận' }),
    ]);
    // The topic is read without the street's name (examples name Huỳnh Tấn Phát for its floods).
    expect(byId.get('q1')).toMatchObject({ category: 'giao_thong' });
    expect(byId.get('q2')).toMatchObject({ ticket: byId.get('q1')!.ticket, relation: 'duplicate', category: 'giao_thong' });
    expect(byId.get('q2')!.reasons.find((r: { code: string }) => r.code === 'duplicate').message).toContain('same street');
    expect(byId.get('q3')).toMatchObject({ relation: 'new', category: 'ngap_nuoc' });
  });

  it('places words that name only a street in the units of the districts that have it, and joins the incident there', async () => {
    const { byId, summary } = await replay([
      L({ id: 'p1', received_at: '2026-11-20T17:00:00+07:00', channel: 'app', category: 'ngap_nuoc', citizen: { phone: '0903000001' }, text: 'Ngập tới đầu gối', address: 'đường Nơ Trang Long', lat: 10.8105, lng: 106.6985 }),
      L({ id: 'p2', received_at: '2026-11-20T17:40:00+07:00', channel: 'sms', citizen: { phone: '0903000002' }, text: 'duong no trang long nuoc ngap qua troi xe chet may het' }),
    ]);
    expect(summary.errors).toBe(0);
    const located = byId.get('p2')!.reasons.find((r: { code: string }) => r.code === 'area_ambiguous');
    expect(located.message).toContain('street no trang long');
    expect(byId.get('p2')).toMatchObject({ ticket: byId.get('p1')!.ticket, relation: 'duplicate', area_code: byId.get('p1')!.area_code });
  });

  it('learns where a street runs from reports placed by their point, and places words that name it and a district there', async () => {
    const { byId, summary } = await replay([
      L({ id: 'w1', received_at: '2026-11-20T19:00:00+07:00', channel: 'app', category: 'chieu_sang', citizen: { phone: '0904000001' }, text: 'Đèn đường hư', address: 'Phạm Thế Hiển', lat: 10.74, lng: 106.655 }),
      L({ id: 'w2', received_at: '2026-11-22T08:00:00+07:00', channel: 'sms', citizen: { phone: '0904000002' }, text: 'Rac do thanh dong tren duong Pham The Hien quan 8, boc mui hoi' }),
      L({ id: 'w3', received_at: '2026-11-22T09:00:00+07:00', channel: 'sms', citizen: { phone: '0904000003' }, text: 'Cay xanh bi nga chan ngang duong Ta Quang Buu quan 8' }),
      // A name many streets of the merged province bear (CMT8: Saigon, Thủ Dầu Một, Bà Rịa…): one
      // sighting does not say which of them the words mean.
      L({ id: 'w4', received_at: '2026-11-22T10:00:00+07:00', channel: 'app', category: 'giao_thong', citizen: { phone: '0904000004' }, text: 'Ổ gà', address: 'Cách Mạng Tháng Tám', lat: 10.7835, lng: 106.678 }),
      L({ id: 'w5', received_at: '2026-11-23T08:00:00+07:00', channel: 'facebook', citizen: { facebook_id: 'fb-w5' }, text: 'Rác đổ thành đống trên CMT8 đoạn trước số 486, bốc mùi hôi' }),
    ]);
    expect(summary.errors).toBe(0);
    expect(byId.get('w2')).toMatchObject({ area_code: byId.get('w1')!.area_code });
    expect(byId.get('w2')!.reasons.map((r: { code: string }) => r.code)).toEqual(expect.arrayContaining(['area_ambiguous', 'area_street']));
    // A street nobody has placed yet: still one of the district's units, for an agent.
    expect(byId.get('w3')).toMatchObject({ area_code: null });
    expect(byId.get('w4')!.area_code).not.toBeNull();
    expect(byId.get('w5')).toMatchObject({ area_code: null });
    expect(byId.get('w5')!.reasons.map((r: { code: string }) => r.code)).toContain('area_ambiguous');
    expect(byId.get('w5')!.reasons.map((r: { code: string }) => r.code)).not.toContain('area_street');
  });

  it('learns where a street runs from words that name its ward for sure too, and guesses the likely unit of a divided former ward for an agent to confirm', async () => {
    const { byId, summary } = await replay([
      L({ id: 'k1', received_at: '2026-11-20T19:00:00+07:00', channel: 'phone', citizen: { phone: '0906000001' }, text: 'Công dân phản ánh đèn đường trên đường Tạ Quang Bửu, phường Chánh Hưng không sáng' }),
      L({ id: 'k2', received_at: '2026-11-22T08:00:00+07:00', channel: 'sms', citizen: { phone: '0906000002' }, text: 'Cay xanh bi nga chan ngang duong Ta Quang Buu quan 8' }),
      // Tân Tạo A was divided between Tân Tạo (which kept its code) and Tân Nhựt.
      L({ id: 'k3', received_at: '2026-11-22T09:00:00+07:00', channel: 'phone', citizen: { phone: '0906000003' }, text: 'Công dân phản ánh rác tồn đọng trong hẻm ở phường Tân Tạo A, quận Bình Tân cũ' }),
      // A street and its former district: the city's street table knows the one unit it runs through there.
      L({ id: 'k4', received_at: '2026-11-22T10:00:00+07:00', channel: 'sms', citizen: { phone: '0906000004' }, text: 'Duong Nguyen Van Qua Q12 ngap nang, nuoc vao nha' }),
      // A call naming a street at a junction and the former district (several units), then, minutes
      // later, an app report placed by its point in one of them, with no place in its words.
      L({ id: 'k5', received_at: '2026-11-23T06:40:00+07:00', channel: 'phone', citizen: { phone: '0906000005' }, text: 'Công dân phản ánh vỡ ống cấp nước trên đường Lũy Bán Bích đoạn giao Hòa Bình, quận Tân Phú, cả khu phố bị mất nước' }),
      L({ id: 'k6', received_at: '2026-11-23T06:52:00+07:00', channel: 'app', category: 'cap_nuoc', citizen: { phone: '0906000006' }, text: 'bể ống nước, nước phun lên thành cột', lat: 10.7721, lng: 106.6275 }),
    ]);
    expect(summary.errors).toBe(0);
    expect(byId.get('k1')!.reasons.map((r: { code: string }) => r.code)).toContain('area_new_name');
    expect(byId.get('k2')).toMatchObject({ area_code: byId.get('k1')!.area_code });
    expect(byId.get('k2')!.reasons.find((r: { code: string }) => r.code === 'area_street').message).toContain('ta quang buu');
    expect(byId.get('k3')).toMatchObject({ area_code: '27457' });
    expect(byId.get('k3')!.reasons.map((r: { code: string }) => r.code)).toEqual(expect.arrayContaining(['area_ambiguous', 'area_likely']));
    expect(byId.get('k4')).toMatchObject({ area_code: '26791' });
    expect(byId.get('k4')!.reasons.map((r: { code: string }) => r.code)).toContain('area_street_table');
    // Its words left several units; the app report's point placed the ticket, and the call with it.
    expect(byId.get('k5')).toMatchObject({ area_code: '27028', category: 'cap_nuoc', relation: 'new' });
    expect(byId.get('k5')!.reasons.at(-1)).toMatchObject({ code: 'area_from_ticket_later', message: 'unit its ticket got from a later report: 27028' });
    // The district's six units, narrowed to those both streets run through.
    expect(byId.get('k5')!.reasons.filter((r: { code: string }) => r.code === 'area_ambiguous').map((r: { message: string }) => r.message)).toEqual([
      expect.stringContaining('district tan phu only'), expect.stringContaining("luy ban bich, hoa binh runs through"),
    ]);
    expect(byId.get('k6')).toMatchObject({ ticket: byId.get('k5')!.ticket, relation: 'duplicate', area_code: '27028' });
    expect(byId.get('k6')!.reasons.find((r: { code: string }) => r.code === 'duplicate').message).toContain('one of the units its words may mean');
  });

  it('reads units that have only a code (no name property) when --area-name-prop is not given', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'replay-'));
    const file = path.join(dir, 'codes-only.geojson');
    const square = (x: number, y: number) => [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]];
    writeFileSync(file, JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { district_id: 17 }, geometry: { type: 'Polygon', coordinates: square(-87.7, 41.8) } }],
    }));
    const { byId, summary } = await replay([
      L({ id: 'p1', received_at: '2026-01-01T10:00:00Z', category: 'Street Light Out', lat: 41.805, lng: -87.695 }),
      L({ id: 'p2', received_at: '2026-01-02T09:00:00Z', category: 'Street Light Out', lat: 41.80502, lng: -87.69501 }),
    ], { areasFile: file, areaCodeProp: 'district_id' });
    expect(summary.errors).toBe(0);
    expect(byId.get('p1')).toMatchObject({ area_code: '17', relation: 'new' });
    expect(byId.get('p2')).toMatchObject({ area_code: '17', ticket: byId.get('p1')!.ticket });
  });

  it('runs as `phananh replay` with data on stdout only', async () => {
    const child = execFile('node', ['bin/phananh.mjs', 'replay'], { cwd: path.resolve(import.meta.dirname, '../..') });
    child.stdin!.end(`${L({ id: 'x1', received_at: '2026-11-20T08:00:00Z', text: 'Cây xanh ngã đè xe', lat: 10.7725, lng: 106.698 })}\n`);
    const [stdout, stderr] = await Promise.all([
      new Promise<string>((r) => { let s = ''; child.stdout!.on('data', (d) => (s += d)); child.stdout!.on('end', () => r(s)); }),
      new Promise<string>((r) => { let s = ''; child.stderr!.on('data', (d) => (s += d)); child.stderr!.on('end', () => r(s)); }),
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ id: 'x1', ticket: 'T1', relation: 'new', area_code: '26743' });
    expect(stderr).toContain('replay: done');
  }, 60_000);
});
