// A Statement (statement.ts) as CSV, as a printable HTML page (Chinese first, English second;
// "print to PDF" from the browser gives the PDF), and as plain text for the terminal. Pure
// functions: the console can serve the same page. Amounts are exact yuan to 0.0001 (the ledger
// unit), so every figure on the page adds up to the unit.
import { csvField } from '../cdr/csv.js';
import { formatYuan } from '../cdr/model.js';
import { formatLocalDateTime, localDate, localDateTime } from '../time/zone.js';
import type { AccountStatement, CallTotals, Statement, StatementLine } from './statement.js';

const y = formatYuan;

/** Billed seconds as minutes with two decimals, by integer arithmetic. */
export function minutesOf(seconds: number): string {
  const hundredths = Math.round((seconds * 100) / 60);
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
}

function periodOf(s: Statement): string {
  return `${localDate(s.zone, s.from)} – ${localDate(s.zone, s.to - 1)}`;
}

// ── CSV ─────────────────────────────────────────────────────────────────────────────────────

export const STATEMENT_CSV_COLUMNS = ['tenant', 'month', 'account', 'section', 'item', 'item_zh', 'item_en', 'count', 'seconds', 'amount_yuan', 'unpaid_yuan', 'amount_units', 'unpaid_units'] as const;

type Row = { account: string; section: string; item: string; zh: string; en: string; count?: number; seconds?: number; amount?: number; unpaid?: number };

/**
 * One row per figure: opening, each credit and debit line, closing, arrears, the call
 * reconciliation, calls by direction and the checks. Exact units beside the yuan text, so a
 * spreadsheet can re-add them. `bom` makes Excel/WPS read the Chinese labels as UTF-8.
 */
export function statementCsv(s: Statement, opts: { bom?: boolean } = {}): string {
  const rows: Row[] = [];
  for (const a of s.accounts) {
    const acct = a.account;
    rows.push({ account: acct, section: 'opening', item: 'balance', zh: '期初余额', en: 'Opening balance', amount: a.openingBalance });
    for (const l of a.creditLines) rows.push(lineRow(acct, 'credit', l));
    for (const l of a.debitLines) rows.push(lineRow(acct, 'debit', l));
    rows.push({ account: acct, section: 'total', item: 'credits', zh: '收入合计', en: 'Total credits', amount: a.credits });
    rows.push({ account: acct, section: 'total', item: 'debits', zh: '支出合计', en: 'Total debits', amount: a.debits });
    rows.push({ account: acct, section: 'closing', item: 'balance', zh: '期末余额', en: 'Closing balance', amount: a.closingBalance });
    rows.push({ account: acct, section: 'arrears', item: 'opening', zh: '期初欠费', en: 'Arrears at opening', amount: a.openingArrears });
    rows.push({ account: acct, section: 'arrears', item: 'incurred', zh: '新增欠费', en: 'Arrears incurred', amount: a.arrearsIncurred });
    rows.push({ account: acct, section: 'arrears', item: 'paid', zh: '补缴欠费', en: 'Arrears paid', amount: a.arrearsPaid });
    rows.push({ account: acct, section: 'arrears', item: 'closing', zh: '期末欠费', en: 'Arrears at closing', amount: a.closingArrears });
    rows.push({ account: acct, section: 'calls', item: 'ledger-cost', zh: '账本通话费', en: 'Call charges in the ledger', count: a.calls.ledgerEntries, amount: a.calls.ledgerCost });
    rows.push({ account: acct, section: 'calls', item: 'cdr-cost', zh: '话单通话费', en: 'Call charges in the CDRs', amount: a.calls.cdrCost });
    for (const e of a.events) rows.push({ account: acct, section: 'event', item: e.type, zh: eventZh(e.type), en: e.note, amount: 0 });
    for (const [k, ok] of Object.entries(a.checks)) rows.push({ account: acct, section: 'check', item: k, zh: ok ? '一致' : '不一致', en: ok ? 'ok' : 'MISMATCH' });
  }
  for (const [dir, zh, en, t] of [['outbound', '外呼', 'Outbound', s.calls.outbound], ['inbound', '400 呼入', '400 inbound', s.calls.inbound]] as const) {
    rows.push({ account: '', section: 'calls', item: `${dir}-attempts`, zh: `${zh}呼叫次数`, en: `${en} attempts`, count: t.attempts });
    rows.push({ account: '', section: 'calls', item: `${dir}-answered`, zh: `${zh}接通`, en: `${en} answered`, count: t.answered, seconds: t.billableSeconds });
    rows.push({ account: '', section: 'calls', item: `${dir}-billed`, zh: `${zh}计费时长`, en: `${en} billed time`, seconds: t.billedSeconds, amount: t.cost });
  }
  const tt = s.totals;
  rows.push({ account: '', section: 'total', item: 'opening', zh: '期初余额合计', en: 'Opening balance, all accounts', amount: tt.openingBalance });
  rows.push({ account: '', section: 'total', item: 'credits', zh: '收入合计', en: 'Credits, all accounts', amount: tt.credits });
  rows.push({ account: '', section: 'total', item: 'debits', zh: '支出合计', en: 'Debits, all accounts', amount: tt.debits });
  rows.push({ account: '', section: 'total', item: 'closing', zh: '期末余额合计', en: 'Closing balance, all accounts', amount: tt.closingBalance });
  rows.push({ account: '', section: 'total', item: 'closing-arrears', zh: '期末欠费合计', en: 'Arrears at closing, all accounts', amount: tt.closingArrears });
  rows.push({ account: '', section: 'check', item: 'reconciled', zh: s.reconciled ? '与账本一致' : '与账本不一致', en: s.reconciled ? 'reconciled with the ledger' : 'DOES NOT RECONCILE' });
  const head = STATEMENT_CSV_COLUMNS.join(',');
  const body = rows.map((r) => [
    s.tenant.id, s.month, r.account, r.section, r.item, r.zh, r.en, r.count ?? null, r.seconds ?? null,
    r.amount === undefined ? null : y(r.amount), r.unpaid === undefined ? null : y(r.unpaid), r.amount ?? null, r.unpaid ?? null,
  ].map(csvField).join(','));
  return `${opts.bom ? '\ufeff' : ''}${[head, ...body].join('\r\n')}\r\n`;
}

function lineRow(account: string, section: string, l: StatementLine): Row {
  return { account, section, item: l.key, zh: l.zh, en: l.en, count: l.count, amount: l.amount, ...(section === 'debit' ? { unpaid: l.unpaid } : {}) };
}

function eventZh(type: string): string {
  return type === 'closure' ? '欠费满30日，账户终止' : type;
}

// ── HTML ────────────────────────────────────────────────────────────────────────────────────

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' })[c]!);
}

const e = escapeHtml;
const bi = (zh: string, en: string): string => `${e(zh)} <span class="en">${e(en)}</span>`;
const num = (v: string | number): string => `<td class="num">${e(String(v))}</td>`;

const CSS = `
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:60em;color:#111;font-size:11pt}
h1{font-size:18pt;margin:0 0 .3em}h2{font-size:13pt;margin:1.6em 0 .4em;border-bottom:1px solid #999}
.en{color:#555;font-size:.85em;font-weight:normal}
table{border-collapse:collapse;width:100%;margin:.4em 0}th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:bold;background:#fafafa}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:.5em 0}dt{font-weight:bold}dd{margin:0}
.ok{color:#075e07}.bad{color:#a00;font-weight:bold}.note{color:#555;font-size:.9em}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}table{break-inside:avoid}.noprint{display:none}}
@page{size:A4;margin:15mm}
`;

function callsTable(s: Statement): string {
  const row = (zh: string, en: string, t: CallTotals) =>
    `<tr><td>${bi(zh, en)}</td>${num(t.attempts)}${num(t.answered)}${num(minutesOf(t.billableSeconds))}${num(minutesOf(t.billedSeconds))}${num(y(t.cost))}</tr>`;
  return `<table><thead><tr><th>${bi('方向', 'Direction')}</th><th>${bi('呼叫次数', 'Attempts')}</th><th>${bi('接通', 'Answered')}</th>`
    + `<th>${bi('通话分钟', 'Talk minutes')}</th><th>${bi('计费分钟', 'Billed minutes')}</th><th>${bi('话单费用（元）', 'CDR cost (yuan)')}</th></tr></thead><tbody>`
    + row('外呼', 'Outbound', s.calls.outbound) + row('400 呼入', '400 inbound', s.calls.inbound) + '</tbody></table>';
}

function accountSection(a: AccountStatement): string {
  const lineRows = (lines: StatementLine[], debit: boolean) => lines.map((l) =>
    `<tr><td>${bi(l.zh, l.en)}</td>${num(l.count)}${num(`${debit ? '−' : '+'}${y(l.amount)}`)}${num(debit && l.unpaid ? y(l.unpaid) : '')}</tr>`).join('');
  const check = (ok: boolean) => (ok ? `<span class="ok">✓</span>` : `<span class="bad">✗</span>`);
  const kind = a.kind === 'prepaid' ? bi('预付费账户', 'Prepaid account') : bi('400 套餐账户', '400 package account');
  return `<section><h2>${kind}：${e(a.account)} <span class="en">(${e(a.label)})</span></h2>
<table><thead><tr><th>${bi('项目', 'Item')}</th><th>${bi('笔数', 'Entries')}</th><th>${bi('金额（元）', 'Amount (yuan)')}</th><th>${bi('未付转欠费（元）', 'Unpaid → arrears (yuan)')}</th></tr></thead><tbody>
<tr class="total"><td>${bi('期初余额', 'Opening balance')}</td><td></td>${num(y(a.openingBalance))}<td></td></tr>
${lineRows(a.creditLines, false)}
<tr class="total"><td>${bi('收入合计', 'Total credits')}</td><td></td>${num(`+${y(a.credits)}`)}<td></td></tr>
${lineRows(a.debitLines, true)}
<tr class="total"><td>${bi('支出合计', 'Total debits')}</td><td></td>${num(`−${y(a.debits)}`)}${num(y(a.arrearsIncurred))}</tr>
<tr class="total"><td>${bi('期末余额', 'Closing balance')}</td><td></td>${num(y(a.closingBalance))}<td></td></tr>
</tbody></table>
<p>${bi('核对', 'Check')}：${e(y(a.openingBalance))} + ${e(y(a.credits))} − ${e(y(a.debits))} = ${e(y(a.closingBalance))} ${check(a.checks.balance)}
；${bi('与账户当前余额衔接', 'chains to the balance now')} ${check(a.checks.ledger)}</p>
<table><thead><tr><th>${bi('欠费', 'Arrears')}</th><th>${bi('期初', 'Opening')}</th><th>${bi('新增', 'Incurred')}</th><th>${bi('补缴', 'Paid')}</th><th>${bi('期末', 'Closing')}</th></tr></thead>
<tbody><tr><td>${bi('欠费（元）', 'Arrears (yuan)')} ${check(a.checks.arrears)}</td>${num(y(a.openingArrears))}${num(y(a.arrearsIncurred))}${num(y(a.arrearsPaid))}${num(y(a.closingArrears))}</tr></tbody></table>
<p class="note">${bi('通话费：账本', 'Call charges: ledger')} ${e(y(a.calls.ledgerCost))}（${a.calls.ledgerEntries} ${bi('笔', 'entries')}），${bi('话单', 'CDRs')} ${e(y(a.calls.cdrCost))}${a.calls.difference ? `，${bi('差额', 'difference')} ${e(y(a.calls.difference))}（${bi('跨月结算的通话', 'calls settled across the month boundary')}）` : ''}</p>
${a.events.length ? `<ul>${a.events.map((ev) => `<li>${e(eventZh(ev.type))} <span class="en">${e(ev.note)}</span></li>`).join('')}</ul>` : ''}
</section>`;
}

/** A complete, self-contained HTML page (no scripts, no external resources). */
export function statementHtml(s: Statement): string {
  const t = s.totals;
  const when = (ms: number) => formatLocalDateTime(localDateTime(s.zone, ms));
  const status = s.complete ? bi('已结账', 'Final') : bi('账期未结束（暂定）', 'Period not over (provisional)');
  const rec = s.reconciled ? `<span class="ok">${bi('与账本一致，精确到 0.0001 元', 'Reconciled with the ledger to 0.0001 yuan')}</span>`
    : `<span class="bad">${bi('与账本不一致', 'Does not reconcile with the ledger')}</span>`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${e(`月度账单 Monthly statement ${s.tenant.name} ${s.month}`)}</title>
<style>${CSS}</style></head><body>
<header><h1>${bi('月度账单', 'Monthly statement')}</h1>
<dl><dt>${bi('客户', 'Tenant')}</dt><dd>${e(s.tenant.name)} (${e(s.tenant.id)})</dd>
<dt>${bi('账期', 'Period')}</dt><dd>${e(s.month)}：${e(periodOf(s))}（${e(s.zone)}）</dd>
<dt>${bi('状态', 'Status')}</dt><dd>${status}</dd>
<dt>${bi('生成时间', 'Generated')}</dt><dd>${e(when(s.generatedAt))}</dd></dl></header>
<h2>${bi('汇总', 'Summary')}</h2>
<table><thead><tr><th>${bi('期初余额', 'Opening balance')}</th><th>${bi('收入', 'Credits')}</th><th>${bi('支出', 'Debits')}</th><th>${bi('期末余额', 'Closing balance')}</th><th>${bi('期末欠费', 'Arrears at closing')}</th></tr></thead>
<tbody><tr>${num(y(t.openingBalance))}${num(`+${y(t.credits)}`)}${num(`−${y(t.debits)}`)}${num(y(t.closingBalance))}${num(y(t.closingArrears))}</tr></tbody></table>
<p>${e(y(t.openingBalance))} + ${e(y(t.credits))} − ${e(y(t.debits))} = ${e(y(t.closingBalance))}　${rec}</p>
<h2>${bi('通话', 'Calls')}</h2>
${callsTable(s)}
${s.accounts.map(accountSection).join('\n')}
<footer><p class="note">${bi('金额单位：元，精确到 0.0001 元（账本单位）。', 'Amounts in yuan to 0.0001 (the ledger unit).')}
${bi('欠费期间暂停服务，每日按所欠费用的千分之三收取违约金，欠费满30日终止服务（合同 001 第六条）。', 'While in arrears the service is suspended, a late fee of 3‰ of the fees owed is charged per day, and after 30 days the service is terminated (contract 001 §6).')}</p>
<p class="note noprint">${bi('在浏览器中打印即可另存为 PDF。', 'Print from the browser to save as PDF.')}</p></footer>
</body></html>
`;
}

// ── text ────────────────────────────────────────────────────────────────────────────────────

/** The terminal version: one block per account, the reconciliation last. */
export function statementText(s: Statement): string {
  const out: string[] = [];
  out.push(`月度账单 Monthly statement  ${s.tenant.name} (${s.tenant.id})  ${s.month}  ${periodOf(s)} ${s.zone}${s.complete ? '' : '  (period not over: provisional)'}`);
  for (const [label, t] of [['outbound', s.calls.outbound], ['400 inbound', s.calls.inbound]] as const) {
    out.push(`  calls ${label}: ${t.attempts} attempts, ${t.answered} answered, ${minutesOf(t.billableSeconds)} talk min, ${minutesOf(t.billedSeconds)} billed min, CDR cost ${y(t.cost)}`);
  }
  for (const a of s.accounts) {
    out.push('', `account ${a.account} (${a.label})`);
    out.push(`  ${'opening balance'.padEnd(28)}${y(a.openingBalance).padStart(16)}`);
    for (const l of a.creditLines) out.push(`  + ${`${l.en} (${l.count})`.padEnd(26)}${y(l.amount).padStart(16)}`);
    for (const l of a.debitLines) out.push(`  − ${`${l.en} (${l.count})`.padEnd(26)}${y(l.amount).padStart(16)}${l.unpaid ? `  unpaid → arrears ${y(l.unpaid)}` : ''}`);
    out.push(`  ${'closing balance'.padEnd(28)}${y(a.closingBalance).padStart(16)}`);
    out.push(`  arrears: opening ${y(a.openingArrears)} + incurred ${y(a.arrearsIncurred)} − paid ${y(a.arrearsPaid)} = closing ${y(a.closingArrears)}`);
    out.push(`  call charges: ledger ${y(a.calls.ledgerCost)} (${a.calls.ledgerEntries} entries), CDRs ${y(a.calls.cdrCost)}${a.calls.difference ? `, difference ${y(a.calls.difference)} (calls settled across the month boundary)` : ''}`);
    for (const ev of a.events) out.push(`  event: ${ev.note}`);
    out.push(`  check: ${y(a.openingBalance)} + ${y(a.credits)} − ${y(a.debits)} = ${y(a.closingBalance)} ${a.checks.balance ? 'ok' : 'MISMATCH'}; chains to the balance now: ${a.checks.ledger ? 'ok' : 'MISMATCH'}`);
  }
  out.push('', s.reconciled ? 'reconciled with the ledger to the unit (0.0001 yuan)' : 'DOES NOT RECONCILE with the ledger');
  return `${out.join('\n')}\n`;
}
