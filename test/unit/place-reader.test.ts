import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CityPlaceReader, HEURISTIC_READER, landmarkKey } from '../../src/core/places/place-reader.ts';
import { PLACE_KEYS_MAX } from '../../src/core/engine/text.ts';

// The place a text names, read against HCMC's street list (seed/hcmc/streets.json): the same
// street written with or without diacritics, abbreviated or by initials gives one key; house
// numbers pair with their street; a landmark of the list is one key whatever name it goes by.

const seed = (f: string) => path.resolve(import.meta.dirname, '../../seed/hcmc', f);
const streets = (JSON.parse(readFileSync(seed('streets.json'), 'utf8')) as { districts: { district: string; streets: string[] }[] }).districts.flatMap((d) => d.streets.map((name) => ({ name, district: d.district })));
const reader = new CityPlaceReader({
  streets,
  landmarks: [{ name: 'Bến xe Miền Đông', aliases: ['BX Miền Đông'], kind: 'bus_station', lat: 10.8146, lng: 106.7111, unit_code: '26926' }],
  unitNames: ['ben thanh', 'ben nghe', 'sai gon', 'binh thanh'],
});
const keys = (text: string) => [...reader.read(text).keys];

describe('the landmarks near a point', () => {
  it('gives the listed landmarks within reach, by the key the words give them', () => {
    // 110 m north of Bến xe Miền Đông's point; 2 km away.
    expect(reader.landmarksNear(10.8156, 106.7111, 250).map(landmarkKey)).toEqual(['lm|ben xe mien dong']);
    expect([...reader.read('BX Miền Đông kẹt xe').keys]).toContain('lm|ben xe mien dong');
    expect(reader.landmarksNear(10.8326, 106.7111, 250)).toEqual([]);
  });
});

describe('initials several streets share', () => {
  const rows = (JSON.parse(readFileSync(seed('street-initials.json'), 'utf8')) as { initials: { initials: string; street: string }[] }).initials;
  const fold = (x: string) => x.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();
  const listed = new Set(streets.map((s) => fold(s.name)));

  it("lists only streets of the street list, each under its own initials", () => {
    for (const r of rows) {
      expect(listed, r.street).toContain(fold(r.street));
      expect(fold(r.street).split(' ').map((w) => w[0]).join(''), r.street).toBe(fold(r.initials));
    }
  });

  it('reads them as the road the city says residents mean, and not without that row', () => {
    const withRows = new CityPlaceReader({ streets, landmarks: [], unitNames: [], initials: rows });
    expect([...withRows.read('NHC ngap toi dau goi roi, xe chet may het').keys]).toContain('street|nguyen huu canh');
    expect([...withRows.read('1022 oi doan d.NVL, xa Binh Hung rac thoi qua').keys]).toContain('street|nguyen van linh');
    // "NHC" is also Nguyễn Hữu Cầu's and Nguyễn Huy Chương's initials: without the row, no street.
    expect(keys('NHC ngap toi dau goi roi').filter((k) => k.startsWith('street|'))).toEqual([]);
  });
});

describe('reading a place from words', () => {
  it('spells out abbreviations written with full stops, and reads no kind word inside a street\'s name', () => {
    expect(keys('Ad oi trc nha 120 Ng.T.M.Khai, p.Da Kao')).toEqual(expect.arrayContaining(['street|nguyen thi minh khai', '120|nguyen thi minh khai']));
    expect(keys('Ng. Văn Cừ bị ngập')).toContain('street|nguyen van cu');
    expect(keys('tuyen DL Binh Duong, p.Lai Thieu nuoc ngap')).toContain('street|dai lo binh duong');
    // One initial before a name is a ward or a district ("P.Tân Định"), or "Đ." (đường).
    expect(keys('Q.Bình Thạnh, P.Tân Định').filter((k) => k.startsWith('street|'))).toEqual([]);
    expect(keys('Đ.Lê Lợi')).toEqual(['street|le loi']);
    // "Đình" in Nguyễn Đình Chiểu is no temple ("đình"), and "T.P. Hồ Chí Minh" no lake.
    expect(keys('đường Nguyễn Đình Chiểu ngập')).toEqual(['street|nguyen dinh chieu']);
    expect(keys('gần đình Chiểu')).toEqual(['lm|dinh chieu']);
    expect(keys('T.P. Hồ Chí Minh')).toEqual([]);
  });

  it('reads a planned quarter\'s lettered road after "đường", and no ward or district written so', () => {
    expect(keys('ngap lenh lang o doan duong D2, phuong Thanh My Tay')).toContain('street|d2');
    expect(keys('số 12 đường N4 khu dân cư')).toEqual(expect.arrayContaining(['street|n4', '12|n4']));
    expect(keys('đường P7 Q3 ngập').filter((k) => k.startsWith('street|'))).toEqual([]);
    expect(keys('D2 ngập').filter((k) => k.startsWith('street|'))).toEqual([]);
    // "đường số 9A" in lower case is the numbered road, not a house 9A of the other street named.
    expect(keys('Trung Sơn mấy bữa nay rác bỏ đầy góc đường số 9A, xe rác không thấy tới')).toEqual(['street|trung son', 'street|so 9a']);
  });

  it('reads a number before a pause as a house or an alley, whatever word follows the pause', () => {
    // "P." after the comma is the ward, not minutes ("40 p"): the alley is read.
    expect(keys('đường Phạm Văn Chiêu chỗ đầu hẻm 40, P. Thông Tây Hội')).toEqual(expect.arrayContaining(['alley|40|pham van chieu', '40|pham van chieu']));
    expect(keys('ngập 40 p rồi')).toEqual([]);
  });

  it('reads no street or lake in the city\'s own name ("…, Thành phố Hồ Chí Minh" ends an app\'s address)', () => {
    expect(keys('Đường Lữ Gia, Phường Phú Thọ, Thành phố Hồ Chí Minh')).toEqual(['street|lu gia']);
    expect(keys('45 Lê Lợi, TP. Hồ Chí Minh')).toEqual(['street|le loi', '45|le loi']);
    expect(keys('Thành phố Thủ Đức cũ, đường Võ Văn Ngân')).toEqual(['street|vo van ngan']);
  });

  it('reads a street after "Đ." or "d." however the full stop is spaced', () => {
    for (const t of ['doan d.quang trung, phuong thong tay hoi lan chiem', 'Đ. Quang Trung ngập', 'Đ.Quang Trung lấn chiếm']) expect(keys(t), t).toEqual(['street|quang trung']);
  });

  it('reads one street however it is written: diacritics or none, "Đ.", no "đường", initials', () => {
    for (const t of ['ngập trước nhà đường Nguyễn Thị Minh Khai', 'ngap o duong nguyen thi minh khai', 'Đ. Nguyễn Thị Minh Khai ngập', 'Nguyễn Thị Minh Khai ngập sâu', 'đường NTMK ngập']) {
      expect(keys(t), t).toContain('street|nguyen thi minh khai');
    }
    expect(keys('kẹt xe đường CMT8')).toContain('street|cach mang thang tam');
    // A longer name starting inside a shorter one and running past it is the street.
    expect(keys('Phố thuốc Bắc Hải Thượng Lãn Ông xe tải đậu chiếm làn')).toEqual(['street|hai thuong lan ong']);
    expect(keys('cây ngã trên đường 3/2')).toContain('street|3/2');
    // National, provincial and district roads by their code.
    expect(keys('Bai rac tu phat tren TL10 gan so 500')).toEqual(['street|tinh lo 10', '500|tinh lo 10']);
    expect(keys('QL1A ngập')).toEqual(['street|quoc lo 1a']);
    expect(keys('ổ gà trên ĐT744')).toEqual(['street|dt 744']);
  });

  it('pairs a house number, a range or an alley with the street next to it', () => {
    expect(keys('Rác trước nhà 45 Nguyễn Trãi, phường Bến Thành')).toEqual(['street|nguyen trai', '45|nguyen trai']);
    expect(keys('ngap doan so 45-47 nguyen trai')).toEqual(['street|nguyen trai', '45|nguyen trai', '47|nguyen trai']);
    expect(keys('hẻm 42/7 Lê Văn Sỹ ngập')).toEqual(['street|le van sy', 'alley|42|le van sy', '42/7|le van sy']);
    expect(keys('nhà 42/9/3 Lê Văn Sỹ')).toContain('alley|42|le van sy');
  });

  it('does not take a ward, a date, a time or a measure for a street or a house', () => {
    expect(keys('ngập ở phường Bến Thành từ 20h tối qua')).toEqual([]);
    expect(keys('ngày 20/11 nước ngập 30 cm ở quận 8')).toEqual([]);
    expect(keys('yêu cầu Ủy ban phường xử lý')).toEqual([]);
    // "Số" and "Chùa" are in the list as streets of one word: only "đường" makes them one.
    expect(keys('Số nhà bị ngập gần chùa')).toEqual([]);
    expect(keys('đường Số 9 ngập')).toEqual(['street|so 9']);
    // "đường" (the road) before a pause names no street; an unlisted name ends at a unit's word.
    expect(keys('dây cáp rớt ngang đường, xém vướng cổ')).toEqual([]);
    // "đường ống nước" is a water pipe, not the street Ống Nước.
    expect(keys('đường ống nước bị vỡ trên đường Lũy Bán Bích')).toEqual(['street|luy ban bich']);
    expect(keys('Rác trên đường Kỳ Lân Phường 2 chưa dọn').filter((k) => k.startsWith('street|'))).toEqual(['street|ky lan']);
    // A street named like a unit ("Bến Nghé") counts after a house number when the address goes
    // on to the next part, not when the name runs on or stands in brackets.
    expect(keys('12 Bến Nghé, phường Sài Gòn')).toEqual(['street|ben nghe', '12|ben nghe']);
    expect(keys('số 12 (Bến Nghé) ngập')).toEqual([]);
    // A landmark's name ends at a pause or a unit's word.
    expect(keys('lấn chiếm quanh chợ Bà Rịa (TP Bà Rịa cũ)')).toEqual(['lm|cho ba ria']);
    // A number pairs with a street across a pause only when next to it.
    expect(keys('Alo 1022, mưa lớn từ chiều, đường Huỳnh Tấn Phát ngập')).toEqual(['street|huynh tan phat']);
    expect(keys('nhà số 45, Nguyễn Trãi ngập')).toEqual(['street|nguyen trai', '45|nguyen trai']);
    // A number written as a house ("số nhà 486") in a text naming one street is on it, however far.
    expect(keys('mặt đường Cách Mạng Tháng Tám, phường 11 quận 3 (cũ) bị sụt lún thành hố sâu trước số nhà 486')).toEqual(['street|cach mang thang tam', '486|cach mang thang tam']);
    // Not a bare number, nor with two streets named.
    expect(keys('Đường Nguyễn Trãi ngập, mưa từ 2 giờ, nước cao 500 cm')).toEqual(['street|nguyen trai']);
    expect(keys('Nguyễn Trãi, đoạn giao Lê Lợi, gần ngân hàng, trước số nhà 486')).toEqual(['street|nguyen trai', 'street|le loi']);
    // The unit after a house number is where the house is, not a street of its name.
    expect(keys('Rác trên Nguyễn Trãi đối diện số 512 (Bình Thạnh)')).toEqual(['street|nguyen trai', '512|nguyen trai']);
    // The hotline called is no house on the street named next ("đã gọi 1022 mà nhạc Bùi Viện…").
    expect(keys('Đã gọi 1022 mà nhạc Bùi Viện vẫn to')).toEqual(['street|bui vien']);
    expect(keys('gọi tổng đài 1022 rồi, đèn Lê Lợi vẫn tắt')).toEqual(['street|le loi']);
    expect(keys('alo 1022 đường Lê Lợi số 45 ngập')).toEqual(['street|le loi', '45|le loi']);
  });

  it('reads the other street of a junction, even one named like a unit, and no ward initials as a street', () => {
    const reader2 = new CityPlaceReader({ streets, landmarks: [], unitNames: ['hoa binh', 'binh hung hoa', 'binh hung hoa a'] });
    const keys2 = (text: string) => [...reader2.read(text).keys];
    expect(keys2('luy ban bich doan giao Hoa Binh ngap roi')).toEqual(['street|luy ban bich', 'street|hoa binh']);
    expect(keys2('ống nước trên đường Lũy Bán Bích (đoạn gần giao lộ Hòa Bình) bị vỡ')).toEqual(['street|luy ban bich', 'street|hoa binh']);
    expect(keys2('đường Lũy Bán Bích gần ngã tư Hòa Bình, quận Tân Phú')).toEqual(['lm|nga tu hoa binh', 'street|luy ban bich', 'street|hoa binh']);
    // no street named before it: "giao" is no junction ("giao hàng", "bàn giao")
    expect(keys2('xe giao Hoa Binh dau het le duong')).toEqual([]);
    // After "tuyến" (a route) a street of the list, even one named like a unit; no name the list lacks.
    expect(keys2('tiếng ồn lớn ban đêm tại tuyến Hòa Bình, ảnh hưởng người dân')).toEqual(['street|hoa binh']);
    expect(keys2('cuu voi tuyen luy ban bich hat ho')).toEqual(['street|luy ban bich']);
    expect(keys2('xe buýt tuyến Bến Thành chạy ẩu, đăng ký trực tuyến')).toEqual([]);
    expect(keys2('tuyến số 19 chạy trễ')).toEqual([]);
    // "BHH" are the initials of the street Bình Hưng Hòa, but after "phường" they name the ward
    expect(keys2('Hem 186 Le Van Quoi hat karaoke. Phuong BHH A xu ly giup')).toEqual(['street|le van quoi', 'alley|186|le van quoi', '186|le van quoi']);
  });

  it('reads a landmark of the list by any of its names, and a kind word before a proper name', () => {
    expect(reader.read('Rác ở BX Miền Đông').keys).toEqual(new Set(['lm|ben xe mien dong']));
    expect(reader.read('rac o ben xe mien dong').landmarks.map((l) => l.name)).toEqual(['Bến xe Miền Đông']);
    expect(keys('Ngập dưới chân cầu Chữ Y. Đề nghị xử lý')).toEqual(['lm|cau chu y']);
    // Folded "cho" is also "for": without diacritics only the list's landmarks are read.
    expect(keys('de nghi cho nguoi xuong xu ly')).toEqual([]);
    expect(keys('Đèn tắt khúc gần Bảo tàng Mỹ Thuật')).toEqual(['lm|bao tang my thuat']);
    expect(keys('Mùi hôi từ bãi rác Đa Phước bay về')).toContain('lm|bai rac da phuoc');
    expect(keys('bãi rác tự phát ở đầu hẻm')).toEqual([]);
    // A landmark's name ends before a short unit ("P7 Q10"), as before a written one.
    expect(keys('Chung cư Nguyễn Kim P7 Q10 lại rớt mảng bê tông')).toEqual(['lm|chung cu nguyen kim']);
    expect(keys('Rác trước chợ Bàn Cờ F3 Q3')).toEqual(['lm|cho ban co']);
  });

  it('reads a capitalised kind word that begins a unit\'s name as the unit, not a landmark', () => {
    const reader3 = new CityPlaceReader({ streets, landmarks: [], unitNames: ['truong thanh', 'cau ong lanh', 'cho quan'] });
    const keys3 = (text: string) => [...reader3.read(text).keys];
    expect(keys3('Lò Lu, Trường Thạnh')).toEqual(['street|lo lu']);
    expect(keys3('72 Cô Giang, Cầu Ông Lãnh')).toEqual(['street|co giang', '72|co giang']);
    // In lower case it is the bridge, and a kind word before a unit's name is the landmark.
    expect(keys3('kẹt xe trên cầu Ông Lãnh')).toEqual(['lm|cau ong lanh']);
    expect(keys3('ngập trước nhà thờ Chợ Quán')).toEqual(['lm|nha tho cho quan']);
  });

  it('reads a kind word typed without diacritics before a proper name of two words, in a text with none', () => {
    expect(keys('Xung quanh cho Vuon Chuoi ban hang tran ra giua duong')).toEqual(['lm|cho vuon chuoi']);
    expect(keys('lấn chiếm quanh chợ Vườn Chuối')).toEqual(['lm|cho vuon chuoi']);
    // "cho" is also "for": not before one word, a unit's word, or in a text with diacritics.
    expect(keys('bao cho UBND biet')).toEqual([]);
    expect(keys('nho cho Phuong Ban Co xu ly')).toEqual([]);
    expect(keys('nhờ báo cho Anh Tuấn biết')).toEqual([]);
    // A kind of two words folded ("nga tu", "benh vien") is no everyday word: one name word will do,
    // but not a short unit.
    expect(keys('nga tu Ga o ga lon dung tren lan xe may')).toEqual(['lm|nga tu ga']);
    expect(keys('o benh vien Q1 ket xe')).toEqual([]);
  });

  it('reads a shopping centre by its brand and the name after it, without the words that vary', () => {
    expect(keys('Kẹt xe trước Aeon Mall Bình Tân')).toEqual(['lm|aeon binh tan']);
    expect(keys('ổ gà gần Vincom Lê Văn Việt')).toContain('lm|vincom le van viet');
    expect(keys('xe đậu kín lề trước Aeon')).toEqual(['lm|aeon']);
    expect(keys('ngập trước Lotte Quận 7')).toEqual(['lm|lotte']);
  });

  it('reads a listed shopping centre named by its brand and proper name as the listed landmark', () => {
    const aeon = { name: 'Trung tâm thương mại Aeon Mall Tân Phú', aliases: ['Aeon Mall Celadon'], kind: 'mall', lat: 10.8013, lng: 106.6177, unit_code: '27019' };
    const vincom = { name: 'Vincom Plaza Lê Văn Việt', kind: 'mall', lat: 10.8455, lng: 106.7795, unit_code: '26842' };
    const r = new CityPlaceReader({ streets, landmarks: [aeon, vincom], unitNames: [] });
    for (const t of ['xe đậu trước Aeon Mall Tân Phú (phường Sơn Kỳ cũ)', 'ket xe truoc Aeon Tan Phu', 'kẹt xe cổng Aeon Mall Celadon']) {
      const read = r.read(t);
      expect(read.landmarks, t).toEqual([aeon]);
      expect([...read.keys], t).toContain('lm|trung tam thuong mai aeon mall tan phu');
    }
    expect(r.read('ổ gà trước Vincom Lê Văn Việt').landmarks).toEqual([vincom]);
    // The brand alone is any of its centres, unless the text names the street one is named after.
    expect(r.read('xe đậu kín lề trước Aeon').landmarks).toEqual([]);
    expect(r.read('Lê Văn Việt khúc trước Vincom có cái ổ gà to').landmarks).toEqual([vincom]);
    expect(r.read('Nguyễn Trãi khúc trước Vincom có cái ổ gà to').landmarks).toEqual([]);
  });

  it(`reads at most PLACE_KEYS_MAX keys from crafted text, however many it names`, () => {
    let text = '';
    for (let i = 0; text.length < 5000; i++) text += `${10 + i} Nguyễn Trãi ${20 + i} Lê Lợi hẻm ${i}/2 Pasteur `;
    expect(keys(text).length).toBe(PLACE_KEYS_MAX);
  });

  it('reads house numbers and the words after them without a street list (another city)', () => {
    expect([...HEURISTIC_READER.read('Pothole at 45 Main Street').keys]).toContain('45|main street');
  });
});
