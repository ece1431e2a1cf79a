import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { canonicalCode } from '../../src/core/tickets/codes.ts';
import { Gazetteer, normaliseAddress } from '../../src/core/places/gazetteer.ts';
import { identitiesOf, normaliseEmail, normaliseNationalId, normalisePhone } from '../../src/core/citizens/identity.ts';
import { staffText } from '../../src/core/staff/staff-text.ts';
import { boundedText, cleanText, mergeKeys, PLACE_KEYS_MAX, placeKeys, similarity, TICKET_PLACE_KEYS_MAX } from '../../src/core/engine/text.ts';
import { topicFeatures } from '../../src/core/engine/topic.ts';
import { jsonParam } from '../../src/db/records.ts';
import { safeNextPath } from '../../src/http/auth.ts';
import { nestsDeeperThan } from '../../src/intake/request-body.ts';

// Client text is bounded before it is parsed and every pattern that reads it is linear
// (STYLE.md 15). The figures in the comments are what the old code did on this input.

describe('normaliseEmail', () => {
  it.each([
    ['Lan.Tran@Example.VN ', 'lan.tran@example.vn'],
    ['a@b.co', 'a@b.co'],
    ['nguyen+1022@mail.tphcm.gov.vn', 'nguyen+1022@mail.tphcm.gov.vn'],
  ])('keeps %j as %j', (input, out) => expect(normaliseEmail(input)).toBe(out));

  it.each([
    ['no at sign', 'lan.example.vn'],
    ['two at signs', 'a@b@c.vn'],
    ['no dot in the domain', 'a@localhost'],
    ['an empty label', 'a@b..vn'],
    ['a space', 'lan tran@example.vn'],
    ['nothing before the at sign', '@example.vn'],
    ['longer than 254 characters', `${'a'.repeat(250)}@example.vn`],
  ])('refuses an address with %s', (_what, input) => expect(normaliseEmail(input)).toBeNull());

  it('refuses 100,000 dots between two at signs at once (the old pattern held the event loop 12.7 s)', () => {
    const started = performance.now();
    expect(normaliseEmail(`a@${'.'.repeat(100_000)}@`)).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('identifiers are bounded before any pattern reads them', () => {
  it.each([
    ['phone', () => normalisePhone('0'.repeat(5000))],
    ['national id', () => normaliseNationalId('1'.repeat(5000))],
    ['email', () => normaliseEmail(`${'a'.repeat(5000)}@example.vn`)],
  ])('refuses a %s of 5000 characters', (_what, f) => expect(f()).toBeNull());

  it('skips an over-long identifier of any kind as invalid, keeping the valid ones', () => {
    const long = 'x'.repeat(10_000);
    const r = identitiesOf({ phone: '0903 123 456', email: long, facebook_id: long, zalo_id: long, national_id: long });
    expect(r.identities).toEqual([{ kind: 'phone', value: '+84903123456' }]);
    expect(r.rejected.sort()).toEqual(['email', 'facebook', 'national_id', 'zalo']);
  });
});

describe('cleanText', () => {
  it.each([
    ['a NUL byte', 'Ngập\u0000 nước', 'Ngập nước'],
    ['other C0 controls, DEL and C1', 'a\u0001b\u001bc\u007fd\u0085e', 'abcde'],
    ['CRLF and CR line breaks', 'dòng 1\r\ndòng 2\rdòng 3', 'dòng 1\ndòng 2\ndòng 3'],
    ['a lone high surrogate (half an emoji)', 'mưa \ud83d to', 'mưa \ufffd to'],
    ['a lone low surrogate', 'mưa \ude00 to', 'mưa \ufffd to'],
    ['decomposed Vietnamese (NFD)', 'Nguye\u0302\u0303n', 'Nguyễn'],
  ])('removes or repairs %s', (_what, input, out) => expect(cleanText(input)).toBe(out));

  it('keeps tabs, line feeds and whole emoji', () => {
    expect(cleanText('a\tb\nc 🌧️')).toBe('a\tb\nc 🌧️');
  });

  it('bounds a field before it normalises it, and counts what is left after cleaning', () => {
    const tooLong = () => new Error('too long');
    expect(() => boundedText('a'.repeat(41), 10, tooLong)).toThrow('too long');
    expect(() => boundedText('a'.repeat(11), 10, tooLong)).toThrow('too long');
    expect(boundedText(`  ${'a'.repeat(10)}\u0000  `, 10, tooLong)).toBe('a'.repeat(10));
    expect(boundedText(' \u0000 ', 10, tooLong)).toBeUndefined();
  });
});

describe('staffText', () => {
  it('cleans and trims what staff write', () => {
    expect(staffText('note', '  Đã gọi\u0000 lại  ', true)).toBe('Đã gọi lại');
  });
  it.each([
    ['note', 4001, 'note_too_long'],
    ['reply', 2001, 'reply_too_long'],
    ['reason', 1001, 'reason_too_long'],
    ['instructions', 2001, 'instructions_too_long'],
    ['result', 4001, 'resolve_note_too_long'],
  ] as const)('refuses a %s of %i characters with %s', (kind, n, code) => {
    expect(() => staffText(kind, 'x'.repeat(n))).toThrow(expect.objectContaining({ code, status: 422 }));
  });
  it('refuses a required text that is empty once cleaned', () => {
    expect(() => staffText('reason', '\u0000 ', true)).toThrow(expect.objectContaining({ code: 'reason_missing' }));
  });
});

describe('jsonParam', () => {
  it('turns a NUL and a lone surrogate into U+FFFD in values and in keys, so PostgreSQL takes them', () => {
    const v = JSON.parse(jsonParam({ text: 'a\u0000b\ud83d', ['k\u0000']: ['\udc00', 1] })) as Record<string, unknown>;
    expect(v).toEqual({ text: 'a\ufffdb\ufffd', 'k\ufffd': ['\ufffd', 1] });
  });
});

describe('nestsDeeperThan', () => {
  it('tells a shallow body from one nested thousands deep without recursing', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(nestsDeeperThan(deep, 32)).toBe(true);
    expect(nestsDeeperThan({ citizen: { phone: '1' }, list: [[1]] }, 32)).toBe(false);
    expect(nestsDeeperThan({ a: { b: { c: 1 } } }, 2)).toBe(true);
  });
});

describe('placeKeys', () => {
  it.each([
    ['Nhà số 312/46 hẻm 12 đường Lê Lợi, phường Bến Thành', ['street|le loi', '12|le loi', '312/46|le loi']],
    ['Trước nhà 45 Nguyễn Trãi, P. Bến Thành, Q1', ['street|nguyen trai', '45|nguyen trai']],
    ['ngập 40 cm trước số 12 Lê Lợi', ['street|le loi', '12|le loi']],
    ['đèn đường hư 3 ngày rồi', []],
  ])('%s -> %j', (text, keys) => expect([...placeKeys(text)]).toEqual(keys));

  it('pairs each house number with the street nearest to it, not with every street named', () => {
    expect([...placeKeys('12 Lê Lợi, gần 30 Pasteur Sài')]).toEqual(['street|le loi', '12|le loi', 'street|pasteur sai', '30|pasteur sai']);
  });

  it('takes at most PLACE_KEYS_MAX keys from crafted text naming hundreds of houses (their product: 300,000)', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const crafted = Array.from({ length: 550 }, (_, i) => `${10 + i} a${letters[i % 26]} k${letters[Math.floor(i / 26) % 26]}`).join(' ');
    const keys = placeKeys(crafted);
    expect(keys.size).toBe(PLACE_KEYS_MAX);
    expect([...keys].slice(0, 2)).toEqual(['street|aa ka', '10|aa ka']);
  });

  it('merges a ticket\'s keys in the order they were named, up to TICKET_PLACE_KEYS_MAX', () => {
    expect(mergeKeys(['a', 'b'], ['b', 'c'])).toEqual(['a', 'b', 'c']);
    const many = Array.from({ length: 100 }, (_, i) => `k${i}`);
    expect(mergeKeys(many.slice(0, 50), many.slice(40))).toEqual(many.slice(0, TICKET_PLACE_KEYS_MAX));
  });
});

describe('no function that reads client text holds the event loop', () => {
  // Inputs at the largest size the edge lets through (the JSON body limit is 256 KB), shaped
  // against each function: runs of one separator, digits, prefixes the patterns look for.
  const N = 256 * 1024;
  // "10 aa kl 11 ab km ...": a house number before every one of hundreds of different streets.
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const DISTINCT_HOUSES = Array.from({ length: 600 }, (_, i) => `${10 + i} a${letters[i % 26]} k${letters[Math.floor(i / 26) % 26]}`).join(' ');
  const rep = (s: string) => s.repeat(Math.ceil(N / s.length)).slice(0, N);
  const shapes: Record<string, string> = {
    dots: `a@${rep('.')}@`, ats: rep('@'), spaces: `${rep(' ')}x`, digits: rep('1'), digitPairs: rep('1 '), slashes: rep('1/'),
    houses: rep('10 aa kl 11 ab km '), distinctHouses: DISTINCT_HOUSES, wards: rep('p '), wardNumbers: rep('phuong 1 '), streets: rep('duong a b '),
    combining: `a${rep('\u0301')}`, nul: rep('\u0000'), surrogates: rep('\ud83d'),
  };
  const load = (f: string) => JSON.parse(readFileSync(new URL(`../../seed/hcmc/${f}`, import.meta.url), 'utf8'));
  const gazetteer = new Gazetteer(load('wards-2025.json'), load('wards-pre2025.json'), load('ward-mapping-2025.json'), { 'quan 2': 'thu duc' });
  const functions: Record<string, (s: string) => unknown> = {
    'gazetteer.match': (s) => gazetteer.match(s.slice(0, 5000)),
    normaliseEmail, normalisePhone, normaliseNationalId, canonicalCode, safeNextPath: (s) => safeNextPath(`/${s}`),
    identitiesOf: (s) => identitiesOf({ phone: s, email: s, facebook_id: s, zalo_id: s, national_id: s }),
    cleanText, normaliseAddress: (s) => normaliseAddress(s.slice(0, 5000)), placeKeys: (s) => placeKeys(s.slice(0, 5000)),
    similarity: (s) => similarity(s.slice(0, 5000), s.slice(0, 5000)), topicFeatures: (s) => topicFeatures(s.slice(0, 5000)),
  };
  for (const [name, f] of Object.entries(functions)) {
    it(`${name}: every shape at the size limit in well under a second`, () => {
      for (const [shape, input] of Object.entries(shapes)) {
        const started = performance.now();
        f(input);
        // Linear code takes milliseconds here; the old email pattern took minutes at this size.
        expect(performance.now() - started, shape).toBeLessThan(1000);
      }
    });
  }
});
