// The agents' web phone (issue 13): the seat signs in with its id and password (the seat API gives
// a seat token for its own data; the password stays in this tab's memory for SIP digest), registers
// over WebSocket, and calls from the dial pad. 中文 first, English second; data is put into the
// page as text nodes only. Seat API (task13-common.md): POST /phone/login, GET /phone/me,
// PUT /phone/me/state, GET /phone/me/calls.
import { formatYuan } from '../../src/config/money.js';
import { SipPhone, type CallView } from './sip-phone.js';
import { Tones } from './tones.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Session { token: string; seat: string; tenant: string; name: string; password: string }

const TOKEN_KEY = 'dialgate.phone.token';
let session: Session | null = null;
let phone: SipPhone | null = null;
let call: CallView | null = null;
let tick: ReturnType<typeof setInterval> | null = null;
/** Ring and ringback tones (tones.ts); any click lets audio start (browsers' autoplay rule). */
const tones = new Tones();
document.addEventListener('pointerdown', () => tones.unlock(), { capture: true });
document.addEventListener('keydown', () => tones.unlock(), { capture: true });

// ── DOM ──────────────────────────────────────────────────────────────────────────────────────
type Child = Node | string | number | null | undefined | false;
function h(tag: string, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') e.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}
const bi = (zh: string, en: string): HTMLElement => h('span', {}, zh, ' ', h('span', { class: 'en' }, en));
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const main = (): HTMLElement => $('main');
const clock = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
};
const beijing = (ms: number): string => new Date(ms).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });

// ── seat API ─────────────────────────────────────────────────────────────────────────────────
class ApiError extends Error { constructor(readonly status: number, message: string) { super(message); } }

async function api(path: string, init: RequestInit = {}): Promise<Json> {
  const headers: Record<string, string> = { ...(init.body ? { 'content-type': 'application/json' } : {}) };
  if (session) headers.authorization = `Bearer ${session.token}`;
  const res = await fetch(path, { ...init, headers });
  const body = await res.json().catch(() => ({})) as Json;
  if (res.status === 401 && session) { void signOut('登录已失效，请重新登录', 'Session expired: please sign in again'); }
  if (!res.ok) throw new ApiError(res.status, String(body.error ?? res.statusText));
  return body;
}

// ── sign in ──────────────────────────────────────────────────────────────────────────────────
function loginPage(zh = '', en = ''): void {
  $('who').replaceChildren();
  const err = h('p', { class: 'err', id: 'login-error' }, zh ? bi(zh, en) : '');
  const form = h('form', { id: 'login', class: 'card', onsubmit: (e: Event) => { e.preventDefault(); tones.unlock(); void signIn(form as HTMLFormElement, err); } },
    h('h2', {}, bi('坐席登录', 'Seat sign-in')),
    h('label', {}, bi('坐席号', 'Seat id'), h('input', { name: 'seat', inputmode: 'numeric', autocomplete: 'username', required: true })),
    h('label', {}, bi('密码', 'Password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit', class: 'primary' }, bi('登录', 'Sign in')),
    err);
  main().replaceChildren(form);
}

async function signIn(form: HTMLFormElement, err: HTMLElement): Promise<void> {
  const data = new FormData(form);
  const seat = String(data.get('seat') ?? '').trim();
  const password = String(data.get('password') ?? '');
  err.replaceChildren();
  try {
    const r = await api('/phone/login', { method: 'POST', body: JSON.stringify({ seat, password }) });
    session = { token: String(r.token), seat: String(r.seat ?? seat), tenant: String(r.tenant ?? ''), name: String(r.name ?? seat), password };
    sessionStorage.setItem(TOKEN_KEY, session.token);
    const cfg = await api('/phone/config');
    if (!cfg.wsUrl) throw new ApiError(503, 'http.phone.wsUrl is not configured');
    phonePage();
    await startPhone(String(cfg.wsUrl), String(cfg.realm));
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 0;
    if (status === 401) err.replaceChildren(bi('坐席号或密码错误', 'Wrong seat id or password'));
    else if (status === 429 || status === 403) err.replaceChildren(bi('登录暂时被锁定，请稍后再试', `Sign-in locked for now: ${(e as Error).message}`));
    else err.replaceChildren(bi('登录失败', (e as Error).message));
    if (session && !phone) session = null;
  }
}

async function signOut(zh = '', en = ''): Promise<void> {
  const p = phone;
  phone = null;
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (tick) clearInterval(tick);
  tones.play(null);
  loginPage(zh, en);
  await p?.stop().catch(() => undefined);
}

// ── the phone ────────────────────────────────────────────────────────────────────────────────
const PHASES: Record<CallView['phase'], [string, string]> = {
  calling: ['正在呼叫', 'Calling'],
  ringing: ['对方振铃', 'Ringing'],
  incoming: ['来电', 'Incoming call'],
  connected: ['通话中', 'Connected'],
  ended: ['通话结束', 'Call ended'],
};
const STATES: Record<string, [string, string]> = {
  available: ['空闲', 'Available'], away: ['离开', 'Away'], 'on-call': ['通话中', 'On a call'], 'wrap-up': ['话后整理', 'Wrap-up'],
};

function phonePage(): void {
  const s = session!;
  $('who').replaceChildren(
    h('span', { id: 'seat-name' }, `${s.name} (${s.seat})`),
    h('span', { class: 'pill', id: 'reg-state', 'data-state': 'registering' }, '注册中 Registering'),
    h('button', { id: 'availability', onclick: () => void toggleAway() }, '…'),
    h('button', { id: 'logout', onclick: () => void signOut() }, bi('退出', 'Sign out')));
  const number = h('input', { id: 'number', inputmode: 'tel', autocomplete: 'off', placeholder: '输入号码 Number', 'aria-label': 'number' }) as HTMLInputElement;
  number.addEventListener('keydown', (e) => { if ((e as KeyboardEvent).key === 'Enter') dial(); });
  const pad = h('div', { class: 'pad', id: 'pad' }, ...'123456789*0#'.split('').map((d) =>
    h('button', { type: 'button', 'data-digit': d, onclick: () => pressed(d) }, d)));
  main().replaceChildren(
    h('div', {},
      h('section', { class: 'card', id: 'dialer' },
        number, pad,
        h('div', { class: 'row' },
          h('button', { id: 'call', class: 'primary', onclick: () => dial() }, bi('呼叫', 'Call')),
          h('button', { id: 'backspace', onclick: () => { number.value = number.value.slice(0, -1); } }, '⌫'))),
      h('section', { class: 'card', id: 'call-panel', hidden: true }),
      h('section', { class: 'card denial', id: 'denial', hidden: true, role: 'alert' }),
      h('section', { class: 'card warning', id: 'credit-warning', hidden: true, role: 'alert' }),
      h('p', { id: 'notice', class: 'en' })),
    h('section', { class: 'card', id: 'history' }, h('h2', {}, bi('最近通话', 'Recent calls')), h('div', { id: 'history-list' }, '…')));
  void refreshMe();
  void refreshHistory();
}

async function startPhone(wsUrl: string, realm: string): Promise<void> {
  const s = session!;
  phone = new SipPhone({ wsUrl, realm, seat: s.seat, password: s.password, displayName: s.name, audio: $('remote-audio') as HTMLAudioElement, debug: new URLSearchParams(location.search).has('debug') }, {
    registration: (state, detail) => {
      const pill = $('reg-state');
      if (!pill) return;
      pill.dataset.state = state;
      const words: Record<string, string> = { registering: '注册中 Registering', registered: '已注册 Registered', unregistered: '未注册 Not registered', failed: `注册失败 Registration failed ${detail ?? ''}`, reconnecting: '重新连接中 Reconnecting' };
      pill.textContent = words[state] ?? state;
    },
    call: (v) => showCall(v),
    creditWarning: (secs) => showCreditWarning(secs),
    notice: (zh, en) => { $('notice')?.replaceChildren(bi(zh, en)); },
  });
  await phone.start();
}

function dial(): void {
  const input = $<HTMLInputElement>('number');
  if (!phone || !input) return;
  if (!phone.call(input.value)) $('notice').replaceChildren(bi('请输入有效号码', 'Enter a valid number'));
}

function pressed(d: string): void {
  if (phone?.busy && call?.phase === 'connected') {
    const how = phone.dtmf(d);
    const sent = $('dtmf-sent');
    if (sent && how) sent.textContent = `${sent.textContent ?? ''}${d}`;
    return;
  }
  const input = $<HTMLInputElement>('number');
  input.value += d;
}

function showCall(v: CallView | null): void {
  call = v;
  // An incoming call rings here (the agent may be in another tab); an outbound call rings back
  // locally unless the far end plays its own (early media).
  const tone = v?.phase === 'incoming' ? 'ring' : v?.phase === 'ringing' && !v.earlyMedia ? 'ringback' : null;
  tones.play(tone);
  document.body.dataset.tone = tone ?? '';
  const panel = $('call-panel');
  if (!panel) return;
  if (tick) { clearInterval(tick); tick = null; }
  if (!v) { panel.hidden = true; return; }
  const [zh, en] = PHASES[v.phase];
  // The timer counts connected time only; a call that never connected shows none.
  const timer = h('div', { class: 'timer', id: 'timer', hidden: v.phase === 'ended' && !v.answeredAt }, v.answeredAt ? clock((v.endedAt ?? Date.now()) - v.answeredAt) : '00:00');
  const live = v.phase !== 'ended';
  panel.hidden = false;
  panel.dataset.phase = v.phase;
  panel.replaceChildren(
    h('div', { class: 'state', id: 'call-state', 'data-phase': v.phase }, bi(zh, en), v.held ? h('span', { class: 'pill', id: 'held' }, ' 已保持 On hold') : '',
      v.transferredTo ? h('span', { class: 'pill', id: 'transferred' }, ` 已转接 Transferred to ${v.transferredTo}`) : ''),
    h('div', { id: 'call-number' }, v.direction === 'inbound' ? bi('来自', 'From') : bi('呼叫', 'To'), ' ', h('b', {}, v.number || '—')),
    timer,
    v.phase === 'incoming' ? h('div', { class: 'row' },
      h('button', { id: 'answer', class: 'primary', onclick: () => phone?.answer() }, bi('接听', 'Answer')),
      h('button', { id: 'decline', class: 'danger', onclick: () => phone?.decline() }, bi('拒接', 'Decline'))) : '',
    live && v.phase !== 'incoming' ? h('div', { class: 'row' },
      h('button', { id: 'mute', class: v.muted ? 'on' : '', disabled: v.phase !== 'connected', onclick: () => phone?.setMute(!v.muted) }, v.muted ? bi('取消静音', 'Unmute') : bi('静音', 'Mute')),
      h('button', { id: 'hold', class: v.held ? 'on' : '', disabled: v.phase !== 'connected', onclick: () => void phone?.setHold(!v.held) }, v.held ? bi('恢复', 'Resume') : bi('保持', 'Hold')),
      h('button', { id: 'hangup', class: 'danger', onclick: () => phone?.hangup() }, bi('挂断', 'Hang up'))) : '',
    v.phase === 'connected' ? h('div', { class: 'row' },
      h('input', { id: 'transfer-to', inputmode: 'tel', placeholder: '转接到 Transfer to' }),
      h('button', { id: 'transfer', onclick: () => void phone?.transfer($<HTMLInputElement>('transfer-to').value) }, bi('转接', 'Transfer'))) : '',
    v.phase === 'connected' ? h('div', { class: 'en' }, '按键 DTMF: ', h('span', { id: 'dtmf-sent' })) : '');
  if (v.phase === 'connected' && v.answeredAt) {
    const at = v.answeredAt;
    tick = setInterval(() => { const t = $('timer'); if (t) t.textContent = clock(Date.now() - at); }, 500);
  }
  const denial = $('denial');
  if (v.phase === 'ended' && v.denial) {
    denial.hidden = false;
    denial.dataset.status = String(v.denial.status);
    if (v.denial.reason) denial.dataset.reason = v.denial.reason;
    else delete denial.dataset.reason;
    denial.replaceChildren(h('div', { class: 'state', id: 'denial-zh' }, v.denial.zh), h('div', { id: 'denial-en' }, v.denial.en),
      v.denial.status ? h('div', { class: 'en' }, `SIP ${v.denial.status}`) : '');
  } else if (v.phase !== 'ended') {
    denial.hidden = true;
  }
  if (v.phase === 'ended') {
    // (a credit warning stays up: it tells why the call was cut off; the next call clears it)
    // The CDR is written as the call ends; give the server a moment, then show it.
    setTimeout(() => void refreshHistory(), 800);
    void refreshMe();
  } else if (v.phase === 'connected') {
    void refreshMe();
  }
}

function showCreditWarning(secs: number | null): void {
  const box = $('credit-warning');
  if (!box) return;
  if (secs === null) { box.hidden = true; return; }
  box.hidden = false;
  box.replaceChildren(h('div', { class: 'state' }, `余额即将用尽${secs ? `，约 ${secs} 秒后通话将被挂断` : ''}`),
    h('div', {}, `Credit running out${secs ? `: the call ends in about ${secs} s` : ''}`));
}

async function refreshMe(): Promise<void> {
  const btn = $('availability');
  if (!btn || !session) return;
  try {
    const me = await api('/phone/me');
    const state = String(me.state ?? 'available');
    const [zh, en] = STATES[state] ?? [state, state];
    btn.dataset.state = state;
    btn.replaceChildren(bi(zh, en));
    btn.className = state === 'away' ? 'on' : '';
  } catch {
    btn.replaceChildren(bi('状态未知', 'State unknown'));
  }
}

async function toggleAway(): Promise<void> {
  const btn = $('availability');
  const next = btn.dataset.state === 'away' ? 'available' : 'away';
  try {
    await api('/phone/me/state', { method: 'PUT', body: JSON.stringify({ state: next }) });
  } catch (e) {
    $('notice').replaceChildren(bi('状态未能更改', (e as Error).message));
  }
  await refreshMe();
}

const DIRECTIONS: Record<string, string> = { outbound: '呼出 Out', inbound: '呼入 In' };

async function refreshHistory(): Promise<void> {
  const list = $('history-list');
  if (!list || !session) return;
  try {
    const r = await api('/phone/me/calls?limit=20');
    const calls = (Array.isArray(r.calls) ? r.calls : []) as Json[];
    if (!calls.length) { list.replaceChildren(bi('暂无通话', 'No calls yet')); return; }
    list.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, ...[['时间', 'Time'], ['方向', 'Dir'], ['号码', 'Number'], ['结果', 'Result'], ['时长', 'Secs'], ['费用', 'Cost']].map(([zh, en]) => h('th', {}, bi(zh!, en!))))),
      h('tbody', {}, ...calls.map((c) => h('tr', { 'data-call-id': String(c.callId ?? '') },
        h('td', {}, typeof c.at === 'number' ? beijing(c.at) : String(c.at ?? '')),
        h('td', {}, DIRECTIONS[String(c.direction)] ?? String(c.direction ?? '')),
        h('td', {}, String(c.number ?? '')),
        h('td', {}, [c.status, c.reason].filter((x) => x !== undefined && x !== null && x !== '').join(' · ')),
        h('td', { class: 'num' }, typeof c.billedSeconds === 'number' ? clock(c.billedSeconds * 1000) : ''),
        h('td', { class: 'num' }, typeof c.cost === 'number' ? formatYuan(c.cost) : ''))))));
  } catch (e) {
    list.replaceChildren(bi('通话记录暂不可用', (e as Error).message));
  }
}

loginPage();
