import { describe, expect, it } from 'vitest';
import { Merge, parseFields, pathId, Reply, StaffStatus, TicketPatch } from '../../src/http/console/validators.ts';
import { AppError } from '../../src/core/errors.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof AppError ? { code: e.code, status: e.status, details: e.details } : e;
  }
  return null;
};

describe('staff request bodies (src/http/console/validators.ts)', () => {
  it('takes absent, null and empty optional fields as not given', () => {
    expect(parseFields(TicketPatch, { category: null, area: '', priority: undefined })).toEqual({});
    expect(parseFields(Reply, { text: 'Cảm ơn', report: null })).toEqual({ text: 'Cảm ơn' });
    expect(parseFields(Reply, { text: 'Cảm ơn', report: '' })).toEqual({ text: 'Cảm ơn' });
  });

  it('cleans strings (NFC, no control characters) and reads ids from numbers or digits', () => {
    const decomposed = 'Ngập nu\u031Bo\u031B\u0301c\u0000';
    expect(parseFields(Reply, { text: decomposed, report: '42' })).toEqual({ text: 'Ngập nước', report: 42 });
    expect(parseFields(Reply, { text: 'x', report: 7 }).report).toBe(7);
  });

  it('names a missing required field (field_missing) and one of the wrong type (field_invalid)', () => {
    expect(refusal(() => parseFields(Merge, { into: 'TK-1' }))).toEqual({ code: 'field_missing', status: 422, details: { field: 'reason' } });
    expect(refusal(() => parseFields(Merge, { into: 'TK-1', reason: '' }))).toEqual({ code: 'field_missing', status: 422, details: { field: 'reason' } });
    expect(refusal(() => parseFields(Reply, { text: ['a'] }))).toEqual({ code: 'field_invalid', status: 422, details: { field: 'text' } });
    expect(refusal(() => parseFields(Reply, { text: 'a', report: 99999999999 }))).toEqual({ code: 'field_invalid', status: 422, details: { field: 'report' } });
    expect(refusal(() => parseFields(Reply, { text: 'a', report: -1 }))).toMatchObject({ code: 'field_invalid' });
  });

  it('refuses a status other than closed or rejected with status_invalid', () => {
    expect(refusal(() => parseFields(StaffStatus, { status: 'resolved' }))).toMatchObject({ code: 'status_invalid', status: 422 });
    expect(parseFields(StaffStatus, { status: 'rejected', note: 'Ngoài thẩm quyền' })).toEqual({ status: 'rejected', note: 'Ngoài thẩm quyền' });
  });

  it('takes a path id only as a positive 32-bit integer', () => {
    const notFound = () => new AppError('identity_not_found', 404, 'no such identity');
    expect(pathId('12', notFound)).toBe(12);
    for (const bad of ['0', '-1', '1e3', '99999999999', 'abc', '']) expect(refusal(() => pathId(bad, notFound))).toMatchObject({ code: 'identity_not_found' });
  });
});
