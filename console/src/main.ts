// The admin console (issue 14): a page per view, Chinese first and English second, every datum
// fetched from the ops API with the bearer token kept in sessionStorage (gone when the tab closes).
// The API enforces who reads what; this code only hides what a token's role cannot use. Data is
// put into the page as text nodes only, never as HTML.
import { formatYuan } from '../../src/config/money.js';
import { hourColumns, outcomeBar, rankedBars, type Part } from './charts.js';

const TOKEN_KEY = 'dialgate.console.token';
const PAGE_SIZE = 50;

interface Me { name: string; role: 'admin' | 'tenant-viewer' | 'metrics'; tenant?: string }
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let me: Me | null = null;
const main = (): HTMLElement => document.getElementById('main')!;

// ── DOM helpers ─────────────────────────────────────────────────────────────────────────────

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

/** "中文 English" as a heading or label. */
const bi = (zh: string, en: string): HTMLElement => h('span', {}, zh, ' ', h('span', { class: 'en' }, en));

function table(head: Array<[string, string]>, rows: Child[][], numeric: number[] = []): HTMLElement {
  return h('table', {},
    h('thead', {}, h('tr', {}, ...head.map(([zh, en]) => h('th', {}, bi(zh, en))))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => h('td', numeric.includes(i) ? { class: 'num' } : {}, c))))));
}

const yuan = (units: unknown): string => (typeof units === 'number' ? formatYuan(units) : '-');
const time = (ms: unknown): string => (typeof ms === 'number' ? new Date(ms).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '-');
const today = (): string => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

// ── API ─────────────────────────────────────────────────────────────────────────────────────

class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  if (res.status === 401) { logout('令牌无效或已失效 Token not accepted'); throw new ApiError(401, 'unauthorized'); }
  if (!res.ok) {
    const body = await res.json().catch(() => ({})) as Json;
    throw new ApiError(res.status, `${res.status}: ${body.error ?? res.statusText}`);
  }
  return res;
}
const getJson = async (path: string): Promise<Json> => (await api(path)).json() as Promise<Json>;
const postJson = async (path: string, body: unknown): Promise<Json> => (await api(path, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<Json>;

/** Downloads a file the API serves behind the token (a plain link could not send it). */
async function download(path: string, name: string): Promise<void> {
  const blob = await (await api(path)).blob();
  const url = URL.createObjectURL(blob);
  h('a', { href: url, download: name }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The recording of a CDR from the tenant recordings endpoint. recordingPath is
 * <recordingsDir>/<tenant>/<day>/<file>.wav (calls/recording.ts); <audio src> cannot send the
 * token, so the bytes are fetched with it and played from a blob URL, on demand (a page of 50
 * rows must not download 50 recordings).
 */
function recordingPlayer(recordingPath: string): HTMLElement {
  const [file, day, owner] = recordingPath.split(/[\\/]/).reverse();
  const audio = h('audio', { controls: true, preload: 'none', class: 'recording' }) as HTMLAudioElement;
  const box = h('span', {});
  const play = h('button', { type: 'button', class: 'play', onclick: async () => {
    play.remove();
    try {
      const blob = await (await api(`/tenants/${encodeURIComponent(owner ?? '')}/recordings/${encodeURIComponent(day ?? '')}/${encodeURIComponent(file ?? '')}`)).blob();
      audio.setAttribute('data-bytes', String(blob.size));
      audio.src = URL.createObjectURL(blob);
      box.append(audio);
      await audio.play().catch(() => undefined); // autoplay may be refused; the controls remain
    } catch (e) { box.append(errorBox(e)); }
  } }, '▶ 录音 Play');
  box.append(play);
  return box;
}

const errorBox = (e: unknown): HTMLElement => h('p', { class: 'err', role: 'alert' }, e instanceof Error ? e.message : String(e));

// ── pages ───────────────────────────────────────────────────────────────────────────────────

interface Page { id: string; zh: string; en: string; adminOnly?: boolean; render(root: HTMLElement): Promise<void> }

async function tenantsOf(): Promise<Array<{ id: string; name: string }>> {
  return (await getJson('/tenants')).tenants as Array<{ id: string; name: string }>;
}

function tenantSelect(tenants: Array<{ id: string; name: string }>, withAll: boolean): HTMLSelectElement {
  const s = h('select', { name: 'tenant' }) as HTMLSelectElement;
  if (withAll) s.append(h('option', { value: '' }, '全部 All'));
  for (const t of tenants) s.append(h('option', { value: t.id }, `${t.name} (${t.id})`));
  return s;
}

const livePage: Page = {
  id: 'calls', zh: '实时通话', en: 'Live calls',
  async render(root) {
    const { calls } = await getJson('/calls');
    const admin = me?.role === 'admin';
    root.append(h('p', {}, bi(`共 ${calls.length} 路`, `${calls.length} in progress`)),
      h('button', { onclick: () => void show('calls') }, '刷新 Refresh'));
    root.append(table(
      [['呼叫标识', 'Call-ID'], ['租户', 'Tenant'], ['坐席', 'Seat'], ['被叫', 'Callee'], ['接通时间', 'Answered'], ...(admin ? [['操作', 'Action'] as [string, string]] : [])],
      (calls as Json[]).map((c) => [c.callId, c.tenant, c.seat, c.callee, c.answeredAt ? time(c.answeredAt) : '振铃中 ringing',
        ...(admin ? [h('button', { class: 'hangup', 'data-call': c.callId, onclick: async () => {
          if (!confirm(`挂断 ${c.callId}? Hang up?`)) return;
          try { await postJson(`/calls/${encodeURIComponent(c.callId)}/hangup`, {}); await show('calls'); } catch (e) { root.append(errorBox(e)); }
        } }, '挂断 Hang up')] : [])])));
  },
};

const newEntryId = (): string => `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

const tenantsPage: Page = {
  id: 'tenants', zh: '租户与余额', en: 'Tenants and balances',
  async render(root) {
    const tenants = await tenantsOf();
    const rows: Child[][] = [];
    for (const t of tenants) {
      const b = await getJson(`/tenants/${encodeURIComponent(t.id)}/balance`).catch((e: unknown) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e)));
      for (const a of (b?.accounts ?? []) as Json[]) {
        rows.push([t.id, t.name, a.account, a.kind === 'prepaid' ? '预付费 prepaid' : `400 ${a.number ?? ''}`, a.status,
          yuan(a.balance), yuan(a.reserved), yuan(a.available), yuan(a.arrears),
          `${a.validFrom ? time(a.validFrom) : '-'} ~ ${a.validUntil ? time(a.validUntil) : '-'}`]);
      }
    }
    root.append(table([['租户', 'Tenant'], ['名称', 'Name'], ['账户', 'Account'], ['类型', 'Kind'], ['状态', 'Status'], ['余额(元)', 'Balance'],
      ['预占(元)', 'Reserved'], ['可用(元)', 'Available'], ['欠费(元)', 'Arrears'], ['有效期', 'Validity']], rows, [5, 6, 7, 8]));
    if (me?.role !== 'admin') return;
    // The entry id stays in the form after a top-up: pressing the button again is harmless (the
    // ledger credits an entry id once); "new id" starts a new top-up.
    const entry = h('input', { name: 'entryId', value: newEntryId(), size: '16' }) as HTMLInputElement;
    const amount = h('input', { name: 'amount', placeholder: '100.00', size: '10' }) as HTMLInputElement;
    const note = h('input', { name: 'note', size: '20' }) as HTMLInputElement;
    const select = tenantSelect(tenants, false);
    const out = h('div', { id: 'topup-result' });
    root.append(h('div', { class: 'box' }, h('h2', {}, bi('充值', 'Top-up')),
      h('form', { id: 'topup', onsubmit: async (e: Event) => {
        e.preventDefault();
        out.replaceChildren();
        try {
          const r = await postJson(`/tenants/${encodeURIComponent(select.value)}/topup`, { entryId: entry.value, amount: amount.value, note: note.value });
          out.append(h('p', { class: r.duplicate ? 'err' : 'ok' }, r.duplicate
            ? `编号 ${entry.value} 已入账过，未重复入账 Already credited under this id: nothing changed. 余额 Balance ${yuan(r.balanceAfter)}`
            : `已入账 ${yuan(r.amount)} 元 Credited; 余额 Balance ${yuan(r.balanceAfter)}`));
          const table_ = root.querySelector('table');
          const fresh = h('div');
          await tenantsPage.render(fresh);
          const t2 = fresh.querySelector('table');
          if (table_ && t2) table_.replaceWith(t2);
        } catch (err) { out.append(errorBox(err)); }
      } },
      h('label', {}, '租户 Tenant', select), h('label', {}, '金额(元) Amount (yuan)', amount),
      h('label', {}, '幂等编号 Idempotency id', entry), h('label', {}, '备注 Note', note),
      h('button', { type: 'submit' }, '充值 Top up'),
      h('button', { type: 'button', onclick: () => { entry.value = newEntryId(); out.replaceChildren(); } }, '新编号 New id')), out));
  },
};

const cdrPage: Page = {
  id: 'cdrs', zh: '话单查询', en: 'CDR search',
  async render(root) {
    const tenants = await tenantsOf();
    const tenant = tenantSelect(tenants, me?.role === 'admin');
    const from = h('input', { name: 'from', type: 'date', value: today() }) as HTMLInputElement;
    const to = h('input', { name: 'to', type: 'date', value: today() }) as HTMLInputElement;
    const number = h('input', { name: 'number', size: '14' }) as HTMLInputElement;
    const out = h('div', { id: 'cdr-results' });
    let offset = 0;
    const params = (): URLSearchParams => {
      const p = new URLSearchParams();
      if (tenant.value) p.set('tenant', tenant.value);
      if (from.value) p.set('from', from.value);
      if (to.value) p.set('to', to.value);
      if (number.value.trim()) p.set('number', number.value.trim());
      return p;
    };
    const load = async (): Promise<void> => {
      out.replaceChildren();
      try {
        const p = params();
        p.set('limit', String(PAGE_SIZE));
        p.set('offset', String(offset));
        const r = await getJson(`/cdrs?${p.toString()}`);
        out.append(h('p', {}, `第 ${offset + 1}–${offset + r.count} 条 Records ${offset + 1}–${offset + r.count}${r.hasMore ? '' : ' (末页 last page)'}`),
          h('button', { id: 'cdr-prev', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE_SIZE); void load(); } }, '上一页 Previous'),
          h('button', { id: 'cdr-next', disabled: !r.hasMore, onclick: () => { offset += PAGE_SIZE; void load(); } }, '下一页 Next'),
          table([['时间', 'Time'], ['方向', 'Dir.'], ['租户', 'Tenant'], ['坐席', 'Seat'], ['主叫', 'Caller'], ['被叫', 'Callee'], ['结果', 'Decision'], ['SIP', 'Status'], ['计费秒', 'Billable s'], ['费用(元)', 'Cost'], ['录音', 'Recording']],
            (r.cdrs as Json[]).map((c) => [c.inviteIso, c.direction, c.tenant ?? '-', c.seat ?? '-', c.callerPresented ?? c.callerRaw, c.calleeNormalised ?? c.calleeRaw,
              `${c.decision}${c.denyReason ? ` ${c.denyReason}` : ''}`, c.sipStatus, c.billableSeconds, yuan(c.cost),
              c.recordingPath ? recordingPlayer(c.recordingPath) : '']), [7, 8, 9]));
      } catch (e) { out.append(errorBox(e)); }
    };
    root.append(h('form', { id: 'cdr-search', onsubmit: (e: Event) => { e.preventDefault(); offset = 0; void load(); } },
      h('label', {}, '租户 Tenant', tenant), h('label', {}, '起始日期 From', from), h('label', {}, '截止日期(含) To (incl.)', to),
      h('label', {}, '号码 Number', number), h('button', { type: 'submit' }, '查询 Search'),
      h('button', { type: 'button', id: 'cdr-csv', onclick: () => { const p = params(); p.set('format', 'csv'); void download(`/cdrs?${p.toString()}`, `cdr-${tenant.value || 'all'}.csv`).catch((e: unknown) => out.append(errorBox(e))); } }, '导出 CSV Export')), out);
    await load();
  },
};

const statementPage: Page = {
  id: 'statement', zh: '月结单', en: 'Monthly statement',
  async render(root) {
    const tenants = await tenantsOf();
    const tenant = tenantSelect(tenants, false);
    const month = h('input', { name: 'month', type: 'month', value: today().slice(0, 7) }) as HTMLInputElement;
    const out = h('div', { id: 'statement-result' });
    const q = (): string => `/tenants/${encodeURIComponent(tenant.value)}/statement?month=${month.value}`;
    const load = async (): Promise<void> => {
      out.replaceChildren();
      try {
        const s = await getJson(q());
        const t = s.totals as Json;
        out.append(h('h2', {}, `${s.tenant.name} ${s.month}`, s.complete ? '' : ' (未结束，暂列 provisional)'),
          h('p', { class: s.reconciled ? 'ok' : 'err' }, s.reconciled ? '与账本核对一致 Reconciles with the ledger' : '与账本不一致 DOES NOT reconcile with the ledger'),
          table([['期初余额', 'Opening'], ['收入', 'Credits'], ['支出', 'Debits'], ['期末余额', 'Closing'], ['期末欠费', 'Closing arrears']],
            [[yuan(t.openingBalance), yuan(t.credits), yuan(t.debits), yuan(t.closingBalance), yuan(t.closingArrears)]], [0, 1, 2, 3, 4]),
          table([['方向', 'Direction'], ['呼叫', 'Attempts'], ['接通', 'Answered'], ['计费分钟', 'Billed min'], ['话费(元)', 'Cost']],
            (['outbound', 'inbound'] as const).map((d) => { const c = s.calls[d] as Json; return [d === 'outbound' ? '外呼 outbound' : '400 呼入 inbound', c.attempts, c.answered, Math.ceil(c.billedSeconds / 60), yuan(c.cost)]; }), [1, 2, 3, 4]));
        for (const a of s.accounts as Json[]) {
          out.append(h('h2', {}, `${a.label} (${a.account})`),
            table([['项目', 'Item'], ['笔数', 'Entries'], ['金额(元)', 'Amount'], ['未付(元)', 'Unpaid']],
              [...(a.creditLines as Json[]).map((l) => [`+ ${l.zh} ${l.en}`, l.count, yuan(l.amount), '']),
                ...(a.debitLines as Json[]).map((l) => [`− ${l.zh} ${l.en}`, l.count, yuan(l.amount), l.unpaid ? yuan(l.unpaid) : ''])], [1, 2, 3]));
        }
      } catch (e) { out.append(errorBox(e)); }
    };
    root.append(h('form', { id: 'statement-form', onsubmit: (e: Event) => { e.preventDefault(); void load(); } },
      h('label', {}, '租户 Tenant', tenant), h('label', {}, '月份 Month', month), h('button', { type: 'submit' }, '生成 Show'),
      h('button', { type: 'button', onclick: () => void download(`${q()}&format=csv`, `statement-${tenant.value}-${month.value}.csv`).catch((e: unknown) => out.append(errorBox(e))) }, 'CSV'),
      h('button', { type: 'button', onclick: async () => {
        try {
          const html = await (await api(`${q()}&format=html`)).blob();
          window.open(URL.createObjectURL(html), '_blank');
        } catch (e) { out.append(errorBox(e)); }
      } }, '打印版 Printable')), out);
    await load();
  },
};

const PART_NAMES: Record<Part, string> = { answered: '接通 answered', missed: '未接 missed', refused: '拒绝 refused', other: '其他 other' };

const callersPage: Page = {
  id: 'callers', zh: '400来电分析', en: '400 caller analysis',
  async render(root) {
    const { numbers } = await getJson('/numbers400');
    if (!numbers.length) { root.append(h('p', {}, '没有可查看的400号码 No 400 numbers to show')); return; }
    const number = h('select', { name: 'number' }) as HTMLSelectElement;
    for (const n of numbers as Json[]) number.append(h('option', { value: n.number }, `${n.number} (${n.owner})`));
    const date = h('input', { name: 'date', type: 'date', value: today() }) as HTMLInputElement;
    const out = h('div', { id: 'callers-result' });
    const load = async (): Promise<void> => {
      out.replaceChildren();
      try {
        const a = await getJson(`/stats/callers?number=${encodeURIComponent(number.value)}&date=${date.value}`);
        const rate = a.answerRate === null ? '-' : `${(a.answerRate * 100).toFixed(1)}%`;
        out.append(
          table([['呼入', 'Calls'], ['接通', 'Answered'], ['未接', 'Missed'], ['拒绝', 'Refused'], ['接通率', 'Answer rate'], ['平均振铃(秒)', 'Avg ring s'], ['平均通话(秒)', 'Avg talk s']],
            [[a.calls, a.answered, a.missed, a.refused, rate, a.avgRingSeconds ?? '-', a.avgTalkSeconds ?? '-']], [0, 1, 2, 3, 4, 5, 6]),
          h('h2', {}, bi('接通与未接', 'Answered vs missed')), outcomeBar(a as never, 'answered vs missed', PART_NAMES),
          h('h2', {}, bi('来电地区排名', 'Calls by region')),
          a.calls ? rankedBars((a.byRegion as Json[]).map((r) => ({ ...r, label: r.region === 'unknown' ? '未知 unknown' : r.region })) as never, 'calls by region') : h('p', {}, '无 none'),
          h('h2', {}, bi('按小时', 'By hour')), hourColumns(a.byHour as never, 'calls by hour'));
      } catch (e) { out.append(errorBox(e)); }
    };
    root.append(h('form', { id: 'callers-form', onsubmit: (e: Event) => { e.preventDefault(); void load(); } },
      h('label', {}, '400号码 Number', number), h('label', {}, '日期 Date', date), h('button', { type: 'submit' }, '分析 Analyse')), out);
    await load();
  },
};

const configPage: Page = {
  id: 'config', zh: '配置', en: 'Config', adminOnly: true,
  async render(root) {
    const s = await getJson('/health');
    const c = s.config as Json;
    root.append(table([['状态', 'Status'], ['配置版本', 'Config version'], ['加载时间', 'Loaded'], ['目录', 'Directory'], ['实时通话', 'Live calls'], ['在线坐席', 'Registered seats']],
      [[s.status, c.version ?? '-', time(c.loadedAt), c.dir ?? '-', s.liveCalls, s.registeredSeats]]));
    for (const w of (s.warnings ?? []) as string[]) root.append(h('p', { class: 'err' }, w));
    const last = c.lastError as Json | null;
    root.append(h('h2', {}, bi('最近一次重载错误', 'Last reload errors')));
    if (!last) { root.append(h('p', { class: 'ok', id: 'no-reload-error' }, '无 None: the running config is the files on disk')); return; }
    root.append(h('p', { class: 'err' }, `${time(last.at)}: ${last.reason}`),
      table([['文件', 'File'], ['行', 'Line'], ['字段', 'Field'], ['错误', 'Error'], ['提示', 'Hint']],
        (last.errors as Json[]).map((e) => [e.file, `${e.line}${e.column ? `:${e.column}` : ''}`, e.field, e.message, e.hint ?? ''])));
  },
};

const EXPLAIN_LABELS: Record<string, string> = {
  seat: '坐席 Seat', tenant: '或租户 or tenant', to: '被叫 To', from: '主叫 From', at: '时间 At (北京 Beijing)', balance: '假定余额 Balance',
};

const explainPage: Page = {
  id: 'explain', zh: '呼叫解释', en: 'Explain / what-if', adminOnly: true,
  async render(root) {
    const input = (name: string, ph = ''): HTMLInputElement => h('input', { name, placeholder: ph, size: '14' }) as HTMLInputElement;
    const f = { seat: input('seat'), tenant: input('tenant'), to: input('to', '13812345678'), from: input('from'), at: input('at', '2026-11-23 10:00'), balance: input('balance', '元 yuan') };
    const out = h('div', { id: 'explain-result' });
    root.append(h('p', {}, bi('与 dialgate explain 相同的判定：在运行中的配置与账本上决定一路外呼。', 'The same decision as `dialgate explain`: one outbound call against the running config and ledger.')),
      h('form', { id: 'explain-form', onsubmit: async (e: Event) => {
        e.preventDefault();
        out.replaceChildren();
        const body = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value.trim()]).filter(([, v]) => v !== ''));
        try {
          const r = await postJson('/explain', body);
          out.append(h('p', { class: r.decision === 'allow' ? 'ok' : 'err', id: 'explain-decision' },
            r.decision === 'allow' ? `放行 allow → ${r.route} (${(r.trunks as Json[]).map((t) => t.trunk).join(' → ')})` : `拒绝 deny: ${r.reason} (SIP ${r.sipStatus}) ${r.detail ?? ''}`),
          table([['主叫', 'Caller id'], ['被叫', 'Callee'], ['最长通话(秒)', 'Max duration s'], ['可用余额', 'Available'], ['配置版本', 'Config']],
            [[r.callerId ?? '-', r.callee ? `${r.callee.national} ${r.callee.class} ${r.callee.region ?? ''}` : '-', r.maxDurationSeconds ?? '∞', r.balance.availableYuan ?? '∞', r.configVersion]]),
          table([['步骤', 'Step'], ['结果', 'Outcome'], ['说明', 'Detail']], (r.trace as Json[]).map((t) => [t.step, t.outcome, t.detail])));
        } catch (err) { out.append(errorBox(err)); }
      } }, ...Object.entries(f).map(([k, el]) => h('label', {}, EXPLAIN_LABELS[k] ?? k, el)), h('button', { type: 'submit' }, '解释 Explain')), out);
  },
};

const pct = (r: unknown): string => (typeof r === 'number' ? `${(r * 100).toFixed(1)}%` : '-');

const trunksPage: Page = {
  id: 'trunks', zh: '中继', en: 'Trunks', adminOnly: true,
  async render(root) {
    const date = h('input', { name: 'date', type: 'date', value: today() }) as HTMLInputElement;
    const out = h('div', { id: 'trunks-result' });
    const load = async (): Promise<void> => {
      out.replaceChildren();
      try {
        const r = await getJson(`/trunks?date=${date.value}`);
        out.append(table([['中继', 'Trunk'], ['网关', 'Gateway'], ['路由(层级)', 'Routes (tier)'], ['容量', 'Capacity'], ['当前通话', 'Live'],
          ['呼叫', 'Attempts'], ['接通', 'Answered'], ['接通率', 'ASR'], ['平均通话(秒)', 'ACD s']],
        (r.trunks as Json[]).map((t) => [t.trunk, t.gateway ?? '(已删除 not configured)',
          (t.routes as Json[]).map((x) => `${x.route}(${x.priority})`).join(' ') || '未使用 unused',
          t.capacity ?? '-', t.liveCalls ?? '-', t.attempts, t.answered, pct(t.asr), t.acdSeconds === null ? '-' : (t.acdSeconds as number).toFixed(1)]),
        [3, 4, 5, 6, 7, 8]));
        for (const t of r.trunks as Json[]) {
          if (!(t.lastFailures as Json[]).length) continue;
          out.append(h('h2', {}, bi(`${t.trunk} 最近失败`, 'last failures')),
            h('div', { class: 'failures', 'data-trunk': t.trunk }, table([['时间', 'Time'], ['SIP', 'Status'], ['说明', 'Note'], ['呼叫标识', 'Call-ID']],
              (t.lastFailures as Json[]).map((f) => [time(f.at), f.sipStatus, f.note, f.callId]), [1])));
        }
      } catch (e) { out.append(errorBox(e)); }
    };
    root.append(h('form', { id: 'trunks-form', onsubmit: (e: Event) => { e.preventDefault(); void load(); } },
      h('label', {}, '日期 Date', date), h('button', { type: 'submit' }, '查看 Show')), out);
    await load();
  },
};

const PAGES: Page[] = [livePage, tenantsPage, cdrPage, statementPage, callersPage, trunksPage, configPage, explainPage];

// ── shell ───────────────────────────────────────────────────────────────────────────────────

function visible(): Page[] {
  return PAGES.filter((p) => !p.adminOnly || me?.role === 'admin');
}

async function show(id: string): Promise<void> {
  const page = visible().find((p) => p.id === id) ?? visible()[0]!;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('on', a.getAttribute('data-page') === page.id);
  const root = h('section', { id: `page-${page.id}` }, h('h2', {}, bi(page.zh, page.en)));
  main().replaceChildren(root);
  try {
    await page.render(root);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) root.append(errorBox(e));
  }
  root.setAttribute('data-ready', 'true');
}

function logout(message = ''): void {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  document.getElementById('nav')!.replaceChildren();
  document.getElementById('who')!.replaceChildren();
  const token = h('input', { type: 'password', name: 'token', size: '40', autocomplete: 'off' }) as HTMLInputElement;
  main().replaceChildren(h('form', { id: 'login', onsubmit: (e: Event) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, token.value.trim());
    void start();
  } }, h('label', {}, '访问令牌 Access token', token), h('button', { type: 'submit' }, '登录 Sign in')),
  message ? h('p', { class: 'err', role: 'alert' }, message) : '');
}

async function start(): Promise<void> {
  if (!sessionStorage.getItem(TOKEN_KEY)) return logout();
  try {
    me = (await getJson('/whoami')) as Me;
  } catch {
    return; // api() has shown the login box for a refused token
  }
  document.getElementById('who')!.replaceChildren(`${me.name} · ${me.role}${me.tenant ? ` · ${me.tenant}` : ''} `,
    h('a', { href: '#', id: 'logout', style: 'color:#ffd166', onclick: (e: Event) => { e.preventDefault(); logout(); } }, '退出 Sign out'));
  document.getElementById('nav')!.replaceChildren(...visible().map((p) => h('a', { href: `#${p.id}`, 'data-page': p.id }, p.zh, ' ', p.en)));
  await show(location.hash.slice(1));
}

window.addEventListener('hashchange', () => { if (me) void show(location.hash.slice(1)); });
void start();
