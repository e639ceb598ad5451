// The agents' web phone page on the ops HTTP API (issue 13):
//   GET /phone, /phone/app.js     the built page (phone/build.ts); open: it holds no data, the seat
//                                 signs in with its id and password (POST /phone/login, seat API)
//   GET /phone/config             open: where the page registers (http.phone.wsUrl) and the realm
// The seat API itself (/phone/login, /phone/me ...) is in phone-routes.ts.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { HttpError, send } from './http-util.js';

export interface PhonePageProviders {
  /** Directory holding the built phone: index.html and app.js. */
  assetsDir: () => string;
  /** http.phone.wsUrl of the running config; undefined when the phone is not configured. */
  wsUrl: () => string | undefined;
  realm: () => string;
}

const ASSETS: Readonly<Record<string, [file: string, type: string]>> = {
  '/phone': ['index.html', 'text/html; charset=utf-8'],
  '/phone/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/phone/app.js': ['app.js', 'text/javascript; charset=utf-8'],
};

/**
 * The page's CSP: its own script and API only, plus the one SIP WebSocket it registers to (a
 * browser counts ws: to another port as another origin). Media needs nothing here: the remote
 * audio is a MediaStream set as srcObject, which media-src does not govern.
 */
export function phoneCsp(wsUrl: string | undefined): string {
  const ws = wsUrl ? ` ${new URL(wsUrl).origin.replace(/^http/, 'ws')}` : '';
  return `default-src 'self'; connect-src 'self'${ws}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'`;
}

/** The response status when the path is the phone's; undefined to let http.ts route it. */
export async function phonePageRoute(req: IncomingMessage, res: ServerResponse, path: string, p: PhonePageProviders): Promise<number | undefined> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === '/phone/config') {
    const wsUrl = p.wsUrl();
    send(res, 200, { wsUrl: wsUrl ?? null, realm: p.realm() });
    return 200;
  }
  const a = ASSETS[path];
  if (!a) return undefined;
  const [file, type] = a;
  let body: Buffer;
  try {
    body = await readFile(join(p.assetsDir(), file));
  } catch {
    throw new HttpError(404, `the web phone is not built (${file} missing in ${p.assetsDir()}); run npm run build`);
  }
  res.writeHead(200, {
    'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache',
    'content-security-policy': phoneCsp(p.wsUrl()),
    'x-content-type-options': 'nosniff',
    // The page asks for the microphone, nothing else.
    'permissions-policy': 'microphone=(self), camera=(), geolocation=()',
  });
  res.end(body);
  return 200;
}
