import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeResponse, createDigestAuth, parseAuthorization, responseFor, type DigestCredentials,
} from '../../src/auth/digest.js';

// The phone side, written independently of the module under test.
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function param(challenge: string, name: string): string {
  const m = new RegExp(`${name}="?([^",]+)"?`).exec(challenge);
  if (!m?.[1]) throw new Error(`no ${name} in ${challenge}`);
  return m[1];
}

function phoneAnswer(challenge: string, o: {
  user: string; password: string; method?: string; uri?: string; nc?: string; cnonce?: string; hash?: (s: string) => string;
}): string {
  const h = o.hash ?? md5;
  const realm = param(challenge, 'realm');
  const nonce = param(challenge, 'nonce');
  const method = o.method ?? 'REGISTER';
  const uri = o.uri ?? 'sip:dialgate.test';
  const nc = o.nc ?? '00000001';
  const cnonce = o.cnonce ?? 'f1e2d3c4';
  const ha1 = h(`${o.user}:${realm}:${o.password}`);
  const ha2 = h(`${method}:${uri}`);
  const response = h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const alg = h === md5 ? 'MD5' : 'SHA-256';
  return `Digest username="${o.user}",realm="${realm}",nonce="${nonce}",uri="${uri}",`
    + `response="${response}",algorithm=${alg},cnonce="${cnonce}",qop=auth,nc=${nc}`;
}

const REALM = 'dialgate.test';
const T0 = Date.UTC(2025, 2, 1, 2, 0, 0);
const HA1 = md5(`1001:${REALM}:s3cret`);
const auth = createDigestAuth({ secrets: ['0123456789abcdef-current'] });

describe('digest challenge', () => {
  it('offers MD5 with qop=auth and a stateless nonce', () => {
    const c = auth.challenge(REALM, T0);
    expect(c).toMatch(/^Digest realm="dialgate\.test", nonce="[A-Za-z0-9_-]{43}", algorithm=MD5, qop="auth"$/);
    expect(auth.challenge(REALM, T0, { stale: true })).toMatch(/, stale=true$/);
    expect(param(auth.challenge(REALM, T0), 'nonce')).not.toBe(param(auth.challenge(REALM, T0), 'nonce'));
  });

  it('issues a distinct nonce every time, across many challenges, carrying its issue time', () => {
    // More nonces than one bulk fill of random bytes serves: none repeats, every one verifies.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(param(auth.challenge(REALM, T0), 'nonce'));
    expect(seen.size).toBe(2000);
    // The issue time is the 64-bit big-endian prefix, to the millisecond, past 2^32 ms and in 2100.
    for (const at of [T0 + 123, Date.UTC(2100, 0, 1, 0, 0, 0, 999)]) {
      const nonce = param(auth.challenge(REALM, at), 'nonce');
      expect(Number(Buffer.from(nonce, 'base64url').readBigUInt64BE(0))).toBe(at);
      const authorization = phoneAnswer(`Digest realm="${REALM}", nonce="${nonce}"`, { user: '1001', password: 's3cret' });
      expect(auth.verify({ method: 'REGISTER', authorization, ha1: HA1, realm: REALM, now: at + 1000 }).ok).toBe(true);
      expect(auth.verify({ method: 'REGISTER', authorization, ha1: HA1, realm: REALM, now: at + 5 * 60_000 + 1 })).toMatchObject({ reason: 'stale-nonce' });
    }
  });

  it('lets another instance with the same key verify the nonce', () => {
    const other = createDigestAuth({ secrets: ['0123456789abcdef-current'] });
    const authorization = phoneAnswer(auth.challenge(REALM, T0), { user: '1001', password: 's3cret' });
    expect(other.verify({ method: 'REGISTER', authorization, ha1: HA1, realm: REALM, now: T0 + 1000 }))
      .toEqual({ ok: true, username: '1001', algorithm: 'MD5' });
  });
});

describe('digest verify', () => {
  const answer = (o: Partial<Parameters<typeof phoneAnswer>[1]> = {}, at = T0) =>
    phoneAnswer(auth.challenge(REALM, at), { user: '1001', password: 's3cret', ...o });

  it('matches the RFC 2617 §3.5 worked example', () => {
    const cred: DigestCredentials = {
      username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      uri: '/dir/index.html', response: '', algorithm: 'MD5', qop: 'auth', nc: '00000001', cnonce: '0a4f113b',
    };
    expect(computeResponse(cred, 'GET', md5('Mufasa:testrealm@host.com:Circle Of Life')))
      .toBe('6629fae49393a05397450978507c4ef1');
  });

  it('accepts a phone-computed response for REGISTER and INVITE', () => {
    expect(auth.verify({ method: 'REGISTER', authorization: answer(), ha1: HA1, realm: REALM, now: T0 }).ok).toBe(true);
    const inv = answer({ method: 'INVITE', uri: 'sip:13800138000@dialgate.test' });
    expect(auth.verify({ method: 'INVITE', authorization: inv, ha1: HA1, realm: REALM, now: T0 }).ok).toBe(true);
    // The method is part of the digest: a REGISTER answer does not authorise an INVITE.
    expect(auth.verify({ method: 'INVITE', authorization: answer(), ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ ok: false, reason: 'bad-response' });
  });

  it('rejects a wrong password, and an unknown user the same way to the peer', () => {
    const wrong = auth.verify({ method: 'REGISTER', authorization: answer({ password: 'guess' }), ha1: HA1, realm: REALM, now: T0 });
    expect(wrong).toEqual({ ok: false, reason: 'bad-response', username: '1001' });
    const ghost = auth.verify({ method: 'REGISTER', authorization: answer({ user: 'ghost' }), ha1: undefined, realm: REALM, now: T0 });
    expect(ghost).toEqual({ ok: false, reason: 'unknown-user', username: 'ghost' });
    expect(responseFor('unknown-user', 'REGISTER')).toEqual(responseFor('bad-response', 'REGISTER'));
    expect(responseFor('bad-response', 'REGISTER')).toEqual({ status: 403 });
  });

  it('marks an expired nonce stale only when the password was right', () => {
    const later = T0 + 5 * 60_000 + 1;
    const good = auth.verify({ method: 'REGISTER', authorization: answer(), ha1: HA1, realm: REALM, now: later });
    expect(good).toMatchObject({ ok: false, reason: 'stale-nonce' });
    expect(responseFor('stale-nonce', 'REGISTER')).toEqual({ status: 401, header: 'WWW-Authenticate', stale: true });
    expect(responseFor('stale-nonce', 'INVITE')).toEqual({ status: 407, header: 'Proxy-Authenticate', stale: true });
    const bad = auth.verify({ method: 'REGISTER', authorization: answer({ password: 'x' }), ha1: HA1, realm: REALM, now: later });
    expect(bad).toMatchObject({ ok: false, reason: 'bad-response' });
    // Just inside the lifetime it still passes.
    expect(auth.verify({ method: 'REGISTER', authorization: answer(), ha1: HA1, realm: REALM, now: T0 + 5 * 60_000 }).ok).toBe(true);
  });

  it('rejects forged, foreign, future and other-realm nonces', () => {
    const good = answer();
    const nonce = param(good, 'nonce');
    const flipped = nonce.slice(0, 10) + (nonce[10] === 'A' ? 'B' : 'A') + nonce.slice(11);
    const forged = good.replace(nonce, flipped);
    expect(auth.verify({ method: 'REGISTER', authorization: forged, ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ reason: 'bad-nonce' });
    const foreign = createDigestAuth({ secrets: ['another-server-key-000'] });
    const theirs = phoneAnswer(foreign.challenge(REALM, T0), { user: '1001', password: 's3cret' });
    expect(auth.verify({ method: 'REGISTER', authorization: theirs, ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ reason: 'bad-nonce' });
    const future = answer({}, T0 + 60_000);
    expect(auth.verify({ method: 'REGISTER', authorization: future, ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ reason: 'bad-nonce' });
    expect(auth.verify({ method: 'REGISTER', authorization: good, ha1: HA1, realm: 'other.realm', now: T0 }))
      .toMatchObject({ reason: 'wrong-realm' });
  });

  it('keeps accepting nonces of a previous key during rotation', () => {
    const rotated = createDigestAuth({ secrets: ['0123456789abcdef-next', '0123456789abcdef-current'] });
    expect(rotated.verify({ method: 'REGISTER', authorization: answer(), ha1: HA1, realm: REALM, now: T0 }).ok).toBe(true);
  });

  it('supports SHA-256 (RFC 8760) when the seat has a SHA-256 HA1', () => {
    const c = auth.challenge(REALM, T0, { algorithm: 'SHA-256' });
    expect(c).toContain('algorithm=SHA-256');
    const a = phoneAnswer(c, { user: '1001', password: 's3cret', hash: sha256 });
    const ha1Sha256 = sha256(`1001:${REALM}:s3cret`);
    expect(auth.verify({ method: 'REGISTER', authorization: a, ha1: HA1, ha1Sha256, realm: REALM, now: T0 }))
      .toEqual({ ok: true, username: '1001', algorithm: 'SHA-256' });
    expect(auth.verify({ method: 'REGISTER', authorization: a, ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ ok: false, reason: 'bad-response' });
  });

  it('accepts RFC 2069 answers without qop unless configured not to', () => {
    const nonce = param(auth.challenge(REALM, T0), 'nonce');
    const uri = 'sip:dialgate.test';
    const response = md5(`${HA1}:${nonce}:${md5(`REGISTER:${uri}`)}`);
    const a = `Digest username="1001", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}"`;
    expect(auth.verify({ method: 'REGISTER', authorization: a, ha1: HA1, realm: REALM, now: T0 }).ok).toBe(true);
    const strict = createDigestAuth({ secrets: ['0123456789abcdef-current'], allowNoQop: false });
    expect(strict.verify({ method: 'REGISTER', authorization: a, ha1: HA1, realm: REALM, now: T0 }))
      .toMatchObject({ reason: 'unsupported' });
  });
});

describe('parseAuthorization', () => {
  const base = {
    username: '1001', realm: REALM, nonce: 'abc', uri: 'sip:x', response: 'a'.repeat(32),
  };

  it('accepts odd order, spacing, case, folding and unquoted values', () => {
    const h = 'digest   NC=00000002 ,QOP="auth",  response="' + 'A'.repeat(32) + '",\r\n\turi=sip:x,'
      + ' cnonce="c1", username = "1001" , realm="dialgate.test",nonce="abc", , opaque=""';
    const r = parseAuthorization(h);
    expect(r).toEqual({
      ok: true,
      value: { ...base, algorithm: 'MD5', qop: 'auth', nc: '00000002', cnonce: 'c1', opaque: '' },
    });
  });

  it('unescapes quoted-pairs', () => {
    const r = parseAuthorization(`Digest username="a\\"b\\\\c", realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}"`);
    expect(r.ok && r.value.username).toBe('a"b\\c');
  });

  it.each([
    ['no scheme params', 'Digest'],
    ['basic scheme', 'Basic dXNlcjpwYXNz'],
    ['missing response', 'Digest username="1001", realm="r", nonce="n", uri="u"'],
    ['duplicate param', `Digest username="a", username="b", realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}"`],
    ['unterminated quote', 'Digest username="1001, realm="r'],
    ['short response', 'Digest username="a", realm="r", nonce="n", uri="u", response="abc"'],
    ['qop without nc', `Digest username="a", realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}", qop=auth`],
    ['control char', `Digest username="a\u0000", realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}"`],
    ['junk between params', `Digest username="a" realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}"`],
    ['empty', ''],
  ])('rejects %s as malformed', (_name, h) => {
    expect(parseAuthorization(h)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('calls auth-int and unknown algorithms unsupported', () => {
    const tail = `realm="r", nonce="n", uri="u", response="${'0'.repeat(32)}"`;
    expect(parseAuthorization(`Digest username="a", ${tail}, qop=auth-int, nc=00000001, cnonce="c"`))
      .toMatchObject({ ok: false, reason: 'unsupported' });
    expect(parseAuthorization(`Digest username="a", ${tail}, algorithm=SHA-512-256`))
      .toMatchObject({ ok: false, reason: 'unsupported' });
  });

  it('never throws on garbage, and verify answers malformed or worse', () => {
    const pieces = fc.constantFrom('Digest ', 'digest', ' ', ',', '=', '"', '\\', 'username', 'realm', 'nonce',
      'uri', 'response', 'qop', 'auth', 'nc', '\r\n', '\u0000', 'é', '{', 'a'.repeat(32));
    const garbage = fc.oneof(fc.string(), fc.array(pieces, { maxLength: 40 }).map((a) => a.join('')));
    fc.assert(fc.property(garbage, (h) => {
      const p = parseAuthorization(h);
      expect(typeof p.ok).toBe('boolean');
      const v = auth.verify({ method: 'REGISTER', authorization: h, ha1: HA1, realm: REALM, now: T0 });
      expect(v.ok).toBe(false);
    }), { numRuns: 2000 });
    for (const v of [undefined, null, 42, {}, [], 'x'.repeat(100_000)]) {
      expect(parseAuthorization(v).ok).toBe(false);
    }
  });
});
