// A WebRTC seat in real headless Chromium (playwright-core): the test-only sip.js page of
// webrtc-page/phone.ts, bundled here with esbuild, with a fake microphone playing a WAV.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import type { CallOutcome, MediaStats } from './webrtc-page/types.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** localhost is a secure context, which getUserMedia needs; the page itself is served by the test. */
const PAGE_URL = 'http://localhost:1/seat';

export interface WebRtcSeat {
  register(o: { wsUrl: string; seat: string; password: string; domain: string }): Promise<void>;
  call(number: string, domain: string): Promise<CallOutcome>;
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
  const page: Page = context.pages()[0] ?? await context.newPage();
  await page.route(PAGE_URL, (route) => route.fulfill({
    contentType: 'text/html', body: `<!doctype html><html><head><meta charset="utf-8"></head><body><script>${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`,
  }));
  await page.goto(PAGE_URL);
  type Seat = { seat: Record<string, (...a: unknown[]) => Promise<unknown>> };
  const run = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(([f, a]) => (globalThis as unknown as Seat).seat[f as string]!(...(a as unknown[])), [fn, args] as const) as Promise<T>;
  return {
    register: (o) => run('register', o),
    call: (n, d) => run('call', n, d),
    stats: () => run('stats'),
    hangup: () => run('hangup'),
    async close() {
      await run('stop').catch(() => {});
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
