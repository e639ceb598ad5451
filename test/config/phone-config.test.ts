// http.phone.wsUrl: where the web phone registers (and what its CSP lets it reach); a URL that is
// not ws:// or wss:// is refused at its line.
import { afterAll, describe, expect, it } from 'vitest';
import { phoneCsp } from '../../src/ops/phone-page.js';
import { edit, exampleCopy, expectErrors, lineOf, load, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

const HTTP = 'http:                            # ops API (health, metrics, status)\n  host: 127.0.0.1\n  port: 8080';
const withPhone = (phone: string) => [HTTP, `http:\n  host: 127.0.0.1\n  port: 8080\n  phone: ${phone}`] as [string, string];

describe('http.phone (web phone)', () => {
  it('takes a wss URL, which the page\'s CSP then allows and nothing else', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', withPhone('{ wsUrl: "wss://sip.example.com:8443" }'));
    const r = await load(dir);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.snapshot.server.http.phone).toEqual({ wsUrl: 'wss://sip.example.com:8443' });
    const csp = phoneCsp(r.snapshot.server.http.phone!.wsUrl);
    expect(csp).toContain("connect-src 'self' wss://sip.example.com:8443;");
    expect(phoneCsp(undefined)).toContain("connect-src 'self';");
  });

  it('refuses an http URL with file, line and field', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', withPhone('{ wsUrl: "https://sip.example.com:8443" }'));
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'dialgate.yaml', line: await lineOf(dir, 'dialgate.yaml', 'wsUrl'), field: 'http.phone.wsUrl' });
  });
});
