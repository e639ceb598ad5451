import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeNumber, userPart } from '../../src/numbers/normalize.js';

function ok(raw: string) {
  const r = normalizeNumber(raw);
  if (!r.ok) throw new Error(`${raw}: ${r.error.message}`);
  return r.number;
}

function err(raw: string) {
  const r = normalizeNumber(raw);
  if (r.ok) throw new Error(`${raw} normalised to ${r.number.national}`);
  return r.error;
}

describe('normalizeNumber', () => {
  it.each([
    '13812345678', '+8613812345678', '+86 138 1234 5678', '008613812345678', '0086-138-1234-5678',
    '8613812345678', '013812345678', '(+86) 138.1234.5678', 'sip:13812345678@pbx.example',
    'sip:+8613812345678@pbx.example;user=phone', '"Zhang San" <sip:13812345678@10.0.0.1:5060>',
    'tel:+86-138-1234-5678', '%2B8613812345678',
  ])('mobile form %s', (raw) => {
    const n = ok(raw);
    expect(n).toMatchObject({ national: '13812345678', e164: '+8613812345678', class: 'mobile', areaCode: null, raw });
  });

  it.each([
    ['010-12345678', '01012345678', '010'],
    ['+86 10 1234 5678', '01012345678', '010'],
    ['+86 (0)10 12345678', '01012345678', '010'],
    ['00861012345678', '01012345678', '010'],
    ['0755 8888 6666', '075588886666', '0755'],
    ['8675588886666', '075588886666', '0755'],
    ['0571-8888666', '05718888666', '0571'],
    ['+86 951 1234567', '09511234567', '0951'],
  ])('landline %s', (raw, national, areaCode) => {
    expect(ok(raw)).toMatchObject({ national, class: 'landline', areaCode, e164: `+86${national.slice(1)}` });
  });

  it('classifies 400 / 800', () => {
    expect(ok('400-800-1234')).toMatchObject({ national: '4008001234', class: 'tollfree400', e164: '+864008001234' });
    expect(ok('+86 400 800 1234')).toMatchObject({ national: '4008001234', class: 'tollfree400' });
    expect(ok('800 810 1234')).toMatchObject({ national: '8008101234', class: 'tollfree800' });
  });

  it.each(['110', '119', '120', '122'])('emergency %s', (raw) => {
    expect(ok(raw)).toMatchObject({ national: raw, class: 'emergency', e164: null, region: null });
  });

  it.each(['95588', '95105888', '96333', '10086', '10000', '12345', '12321', '12306', '11185', '114', '121', '+86 95588'])(
    'service code %s',
    (raw) => expect(ok(raw)).toMatchObject({ class: 'service', e164: null }),
  );

  it.each(['16812345678', '1680123', '1600123', '12590123', '12595'])('premium %s', (raw) => {
    expect(ok(raw).class).toBe('premium');
  });

  it('keeps international numbers as 00 + country code', () => {
    expect(ok('+44 20 7946 0958')).toMatchObject({ national: '00442079460958', e164: '+442079460958', class: 'international' });
    expect(ok('001-212-555-0100')).toMatchObject({ national: '0012125550100', class: 'international' });
    expect(ok('+852 2123 4567').class).toBe('international'); // Hong Kong is international from the mainland
  });

  it('finds province and city of landlines and mobiles', () => {
    expect(ok('0755 8888 6666').region).toEqual({ province: 'Guangdong', city: 'Shenzhen', provinceZh: '广东省', cityZh: '深圳市' });
    expect(ok('010-12345678').region).toMatchObject({ province: 'Beijing', provinceZh: '北京市' });
    expect(ok('13912345678').region).toMatchObject({ province: 'Jiangsu', provinceZh: '江苏省', cityZh: '常州市' });
    expect(ok('4008001234').region).toBeNull();
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['sip:@host', 'empty'],
    ['138abc45678', 'invalid-characters'],
    ['*86', 'invalid-characters'],
    ['1381234567', 'unknown-format'], // 10 digits
    ['138123456789', 'unknown-format'], // 12 digits
    ['12345678', 'unknown-format'], // local number without area code
    ['123', 'unknown-format'],
    ['0101234567', 'unknown-format'], // Beijing has 8-digit subscriber numbers
    ['01001234567', 'unknown-format'], // subscriber numbers never start with 0
    ['+1234', 'unknown-format'],
    ['1'.repeat(21), 'too-long'],
  ])('rejects %j (%s)', (raw, code) => {
    expect(err(raw).code).toBe(code);
  });

  it('extracts the user part of SIP and tel URIs', () => {
    expect(userPart('<sips:+8613812345678@x.example;transport=tls>')).toBe('+8613812345678');
    expect(userPart('tel:13812345678;phone-context=+86')).toBe('13812345678');
    expect(userPart(' 13812345678 ')).toBe('13812345678');
  });

  it('every form of a mobile number normalises to the same national number', () => {
    fc.assert(fc.property(
      fc.integer({ min: 3, max: 9 }), fc.stringMatching(/^\d{9}$/),
      fc.constantFrom('', '+86', '0086', '86', '+86 ', '0'), fc.constantFrom('', ' ', '-'),
      (second, rest, prefix, sep) => {
        const national = `1${second}${rest}`;
        if (/^16[08]/.test(national)) return; // premium voice information, not a mobile
        const spaced = `${national.slice(0, 3)}${sep}${national.slice(3, 7)}${sep}${national.slice(7)}`;
        const n = ok(`${prefix}${spaced}`);
        expect(n.national).toBe(national);
        expect(n.class).toBe('mobile');
      },
    ), { numRuns: 1000 });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (raw) => {
      const r = normalizeNumber(raw);
      if (r.ok) expect(r.number.national).toMatch(/^\d+$/);
    }), { numRuns: 2000 });
  });
});
