import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRegister } from '../../src/registrar/parse.js';

describe('parseRegister', () => {
  it('takes per-contact ;expires over the Expires header over the default', () => {
    const r = parseRegister({
      contact: ['"Agent, Li" <sip:1001@10.0.0.5:5062;transport=tcp>;expires=120;q=0.7', '<sip:1001@10.0.0.6>'],
      expires: '600',
    });
    expect(r).toEqual({
      kind: 'contacts',
      contacts: [
        { uri: 'sip:1001@10.0.0.5:5062;transport=tcp', expires: 120, q: 0.7, params: { expires: '120', q: '0.7' } },
        { uri: 'sip:1001@10.0.0.6', expires: 600, params: {} },
      ],
    });
    expect(parseRegister({ contact: '<sip:a@b>' })).toMatchObject({ contacts: [{ expires: 3600 }] });
  });

  it('splits comma-separated contacts but not commas in display names or quoted params', () => {
    const r = parseRegister({
      contact: '"A, B" <sip:a@h1>;+sip.instance="<urn:uuid:1,2>", sip:b@h2;expires=0, <sips:c@h3>',
    });
    expect(r.kind).toBe('contacts');
    if (r.kind !== 'contacts') return;
    expect(r.contacts.map((c) => [c.uri, c.expires])).toEqual([['sip:a@h1', 3600], ['sip:b@h2', 0], ['sips:c@h3', 3600]]);
    expect(r.contacts[0]?.params['+sip.instance']).toBe('<urn:uuid:1,2>');
  });

  it('treats an addr-spec\'s ;params as header params', () => {
    expect(parseRegister({ contact: 'sip:1001@10.0.0.5;expires=90' }))
      .toMatchObject({ contacts: [{ uri: 'sip:1001@10.0.0.5', expires: 90 }] });
  });

  it('treats malformed expiry values as absent (RFC 3261: 3600)', () => {
    expect(parseRegister({ contact: '<sip:a@b>;expires=soon', expires: '-5' }))
      .toMatchObject({ contacts: [{ expires: 3600 }] });
    expect(parseRegister({ contact: '<sip:a@b>;expires=abc', expires: '300' }))
      .toMatchObject({ contacts: [{ expires: 300 }] });
  });

  it('handles the * wildcard, query and errors', () => {
    expect(parseRegister({ contact: '*', expires: '0' })).toEqual({ kind: 'remove-all' });
    expect(parseRegister({ contact: ' * ', expires: ' 0 ' })).toEqual({ kind: 'remove-all' });
    expect(parseRegister({ contact: '*', expires: '3600' }).kind).toBe('invalid');
    expect(parseRegister({ contact: '*' }).kind).toBe('invalid');
    expect(parseRegister({ contact: ['*', '<sip:a@b>'], expires: '0' }).kind).toBe('invalid');
    expect(parseRegister({})).toEqual({ kind: 'query' });
    expect(parseRegister({ contact: [' ', ''] })).toEqual({ kind: 'query' });
    expect(parseRegister({ contact: '<sip:a@b' }).kind).toBe('invalid');
    expect(parseRegister({ contact: 'not a uri' }).kind).toBe('invalid');
    expect(parseRegister({ contact: '<sip:a@b> junk' }).kind).toBe('invalid');
  });

  it('never throws', () => {
    const bits = fc.constantFrom('<', '>', '"', ',', ';', '=', '*', '\\', 'sip:', 'a@b', 'expires', ' ', '0', 'q');
    const value = fc.oneof(fc.string(), fc.array(bits, { maxLength: 30 }).map((a) => a.join('')));
    fc.assert(fc.property(fc.array(value, { maxLength: 3 }), fc.option(value), (contact, expires) => {
      const r = parseRegister(expires === null ? { contact } : { contact, expires });
      expect(['query', 'remove-all', 'contacts', 'invalid']).toContain(r.kind);
    }), { numRuns: 2000 });
  });
});
