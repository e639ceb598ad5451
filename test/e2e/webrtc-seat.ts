// A WebRTC seat in real headless Chromium (playwright-core): the test-only sip.js page of
// webrtc-page/phone.ts, bundled here with esbuild, with a fake microphone playing a WAV.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import type { CallOutcome, MediaStats } from './webrtc-page/types.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);


export interface WebRtcSeat {
  register(o: { wsUrl: string; seat: string; password: string; domain: string }): Promise<void>;
  call(number: string, domain: string): Promise<CallOutcome>;
  /** Answers the next incoming call (a 400 call rung to this seat). */
  answer(timeoutMs: number): Promise<CallOutcome>;
  /** Blind transfer of the current call; the final NOTIFY's status line. */
  transfer(target: string, domain: string): Promise<string>;
  state(): Promise<string>;
  /** Hold / resume by re-INVITE; its final status. */
  hold(held: boolean): Promise<number>;
  stats(): Promise<MediaStats>;
  hangup(): Promise<void>;
  close(): Promise<void>;
}

/** Chromium with `micWav` as its microphone (a WAV file; Chromium loops it). */
export async function startWebRtcSeat(micWav: string): Promise<WebRtcSeat> {
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, 'webrtc-page/phone.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'chrome120',
  });
  const script = bundle.outputFiles[0]!.text;
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'dialgate-webrtc-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${micWav}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  // Served from a real loopback HTTP server: a secure context (getUserMedia), and a page whose
  // address Chromium knows, so its local-network checks let it reach drachtio's ws port.
  const html = `<!doctype html><html><head><meta charset="utf-8"></head><body><script>${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`;
  const server = createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }); res.end(html); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const page: Page = context.pages()[0] ?? await context.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/seat`);
  type Seat = { seat: Record<string, (...a: unknown[]) => Promise<unknown>> };
  const run = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(([f, a]) => (globalThis as unknown as Seat).seat[f as string]!(...(a as unknown[])), [fn, args] as const) as Promise<T>;
  return {
    register: (o) => run('register', o),
    call: (n, d) => run('call', n, d),
    answer: (ms) => run('answer', ms),
    transfer: (t, d) => run('transfer', t, d),
    state: () => run('state'),
    hold: (h) => run('hold', h),
    stats: () => run('stats'),
    hangup: () => run('hangup'),
    async close() {
      await run('stop').catch(() => {});
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
