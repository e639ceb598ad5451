// docker-compose.yml's drachtio-server command, checked against what drachtio-server accepts
// (no Docker here). Found on drachtio-server 0.9.10-1 (realstack's build): a wss contact written
// `sip:…;transport=wss` is refused at start ("nta_agent_add_tport … Protocol not supported", no
// listener) while `sips:…;transport=wss` listens; and the application port flag is --port.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { command?: string | string[]; restart?: string; logging?: { driver?: string; options?: Record<string, string> } }>;
};
const command = String(compose.services.drachtio?.command ?? '');
const DRACHTIO = join(process.env.REALSTACK_HOME ?? '/work/realstack-home', 'bin/drachtio');

describe('docker-compose drachtio-server command', () => {
  it('writes every TLS-carried contact (wss, tls) as sips:, which drachtio-server needs to load its certificate', () => {
    const contacts = [...command.matchAll(/--contact\s+"([^"]+)"/g)].map((m) => m[1]!);
    expect(contacts.some((c) => /transport=wss/.test(c))).toBe(true);
    for (const c of contacts.filter((x) => /transport=(wss|tls)/.test(x))) expect(c).toMatch(/^sips:/);
  });

  it.skipIf(!existsSync(DRACHTIO))('uses only options the drachtio-server binary knows', () => {
    // (it prints its usage on stderr and exits non-zero; run without CI's libfaketime, which it
    // does not start under)
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('FAKETIME')));
    const r = spawnSync(DRACHTIO, ['--help'], { encoding: 'utf8', env });
    const help = `${r.stdout}${r.stderr}`;
    expect(help, `${DRACHTIO} --help printed no usage`).toMatch(/Usage: drachtio/);
    const known = new Set([...help.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]!));
    const used = [...command.matchAll(/(?:^|\s)--([a-z][a-z-]+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(3);
    expect(used.filter((o) => !known.has(o))).toEqual([]);
  });

  it('logs at notice unless DRACHTIO_LOGLEVEL asks for more (info writes every SIP message in full)', () => {
    expect(command).toMatch(/--loglevel \$\{DRACHTIO_LOGLEVEL:-notice\}/);
    expect(command).toMatch(/--sofia-loglevel \$\{DRACHTIO_SOFIA_LOGLEVEL:-1\}/);
  });
});

describe('docker-compose logs', () => {
  it('rotates the container log of every service that keeps running, so logs cannot fill the disk', () => {
    const running = Object.entries(compose.services).filter(([, s]) => s.restart !== 'no');
    expect(running.map(([name]) => name)).toEqual(expect.arrayContaining(['redis', 'drachtio', 'freeswitch', 'dialgate']));
    for (const [name, s] of running) {
      expect(s.logging?.driver, name).toBe('json-file');
      expect(s.logging?.options?.['max-size'], name).toMatch(/^\d+[km]$/);
      expect(Number(s.logging?.options?.['max-file']), name).toBeGreaterThanOrEqual(2);
    }
  });
});
