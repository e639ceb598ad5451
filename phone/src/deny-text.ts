// Why a call did not connect, in plain words for the agent: 中文 first, English second. dialgate
// puts its deny reason in the RFC 3326 Reason header of the 403/480/… (policy/reasons.ts); the
// text there is matched back to the reason, so the phone follows the server's wording. Anything
// else (a far end's 486, a trunk's 503 without our Reason) falls back to the status code.
// Pure: no DOM, so the unit tests run it under Node.
import { DENY_REASONS, type DenyReason } from '../../src/policy/reasons.js';

export interface PlainWords { zh: string; en: string; reason?: DenyReason; status: number }

/** Chinese for every deny reason; `Record` makes a new reason in reasons.ts a type error here. */
const ZH: Readonly<Record<DenyReason, string>> = {
  'unknown-seat': '坐席不存在',
  'unknown-tenant': '所属企业不存在',
  'tenant-suspended': '账户欠费，服务已暂停',
  'tenant-closed': '服务已终止',
  'tenant-not-yet-valid': '服务尚未开通',
  'tenant-expired': '服务期已结束',
  'malformed-number': '号码不完整或格式错误',
  'outside-window': '不在允许的外呼时段内',
  'webrtc-media-unavailable': '媒体服务器不可用，网页电话暂时无法通话',
  'out-of-scope': '该号码不在允许的呼叫范围内',
  'blacklisted': '被叫号码在免打扰（黑名单）中',
  'caller-id-not-owned': '主叫号码不属于本企业',
  'tenant-busy': '企业线路已全部占用',
  'no-route': '没有到该号码的路由',
  'trunks-full': '中继线路繁忙',
  'no-rate': '该号码未定价，不能呼叫',
  'insufficient-balance': '余额不足',
  'recording-unavailable': '要求录音，但录音服务暂不可用',
  'ledger-unavailable': '服务暂时不可用',
  'unsupported-body': '呼叫格式不受支持',
  'unusable-sdp': '没有可用的音频编码',
  'calls-per-second': '呼叫过于频繁，请稍后再试',
  'spend-per-hour': '已达到每小时消费上限',
  'spend-per-day': '已达到每日消费上限',
  'callee-attempts': '今日呼叫该号码次数已达上限',
};

/** Status codes as a person would say them, when no Reason of ours came with the response. */
const BY_STATUS: Readonly<Record<number, [string, string]>> = {
  402: ['余额不足', 'Insufficient balance'],
  403: ['呼叫被拒绝', 'Call refused'],
  404: ['号码不存在或无法路由', 'Number not found'],
  408: ['对方无应答', 'No answer'],
  480: ['对方暂时无法接通', 'Temporarily unavailable'],
  484: ['号码不完整', 'Incomplete number'],
  486: ['对方忙', 'Busy'],
  487: ['呼叫已取消', 'Call cancelled'],
  488: ['媒体协商失败', 'Media not acceptable'],
  503: ['服务暂时不可用', 'Service unavailable'],
  600: ['对方忙', 'Busy everywhere'],
  603: ['对方拒接', 'Declined'],
};

const BY_TEXT = new Map<string, DenyReason>(
  (Object.entries(DENY_REASONS) as Array<[DenyReason, { text: string }]>).map(([k, v]) => [v.text.toLowerCase(), k]),
);

/** The `text` of a `SIP ;cause=403 ;text="Outside dialing window"` Reason value (first SIP one). */
export function reasonText(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*(?:SIP|Q\.850)\b)/i)) {
    if (!/^\s*SIP\b/i.test(part)) continue;
    const m = /;\s*text\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(part);
    if (m) return m[1]!.replace(/\\(.)/g, '$1');
  }
  return undefined;
}

/** Plain words for a failed call: the deny reason from the Reason header, else the status. */
export function plainWords(status: number, reasonHeader?: string): PlainWords {
  const text = reasonText(reasonHeader);
  const reason = text ? BY_TEXT.get(text.toLowerCase()) : undefined;
  if (reason) return { zh: ZH[reason], en: DENY_REASONS[reason].text, reason, status };
  const s = BY_STATUS[status] ?? (status >= 500 ? BY_STATUS[503]! : ['呼叫失败', 'Call failed']);
  return { zh: s[0], en: text ?? s[1], status };
}
