// FreeSWITCH events as mod_event_socket puts them on the wire (switch_event.c serialisers).

/** switch_event.c EVENT_NAMES: what `event`, `nixevent` and `sendevent` accept. */
export const EVENT_NAMES: readonly string[] = [
  'CUSTOM', 'CLONE', 'CHANNEL_CREATE', 'CHANNEL_DESTROY', 'CHANNEL_STATE', 'CHANNEL_CALLSTATE',
  'CHANNEL_ANSWER', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD', 'CHANNEL_UNHOLD', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE',
  'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_UNPARK',
  'CHANNEL_APPLICATION', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID', 'API', 'LOG', 'INBOUND_CHAN',
  'OUTBOUND_CHAN', 'STARTUP', 'SHUTDOWN', 'PUBLISH', 'UNPUBLISH', 'TALK', 'NOTALK', 'SESSION_CRASH',
  'MODULE_LOAD', 'MODULE_UNLOAD', 'DTMF', 'MESSAGE', 'PRESENCE_IN', 'NOTIFY_IN', 'PRESENCE_OUT',
  'PRESENCE_PROBE', 'MESSAGE_WAITING', 'MESSAGE_QUERY', 'ROSTER', 'CODEC', 'BACKGROUND_JOB',
  'DETECTED_SPEECH', 'DETECTED_TONE', 'PRIVATE_COMMAND', 'HEARTBEAT', 'TRAP', 'ADD_SCHEDULE',
  'DEL_SCHEDULE', 'EXE_SCHEDULE', 'RE_SCHEDULE', 'RELOADXML', 'NOTIFY', 'PHONE_FEATURE',
  'PHONE_FEATURE_SUBSCRIBE', 'SEND_MESSAGE', 'RECV_MESSAGE', 'REQUEST_PARAMS', 'CHANNEL_DATA', 'GENERAL',
  'COMMAND', 'SESSION_HEARTBEAT', 'CLIENT_DISCONNECTED', 'SERVER_DISCONNECTED', 'SEND_INFO', 'RECV_INFO',
  'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'CALL_SECURE', 'NAT', 'RECORD_START', 'RECORD_STOP',
  'PLAYBACK_START', 'PLAYBACK_STOP', 'CALL_UPDATE', 'FAILURE', 'SOCKET_DATA', 'MEDIA_BUG_START',
  'MEDIA_BUG_STOP', 'CONFERENCE_DATA_QUERY', 'CONFERENCE_DATA', 'CALL_SETUP_REQ', 'CALL_SETUP_RESULT',
  'CALL_DETAIL', 'DEVICE_STATE', 'TEXT', 'SHUTDOWN_REQUESTED', 'CERT_RELOAD', 'ALL',
];

/** switch_name_event: case-insensitive, with or without the `SWITCH_EVENT_` prefix. */
export function nameEvent(name: string): string | undefined {
  const upper = name.toUpperCase();
  const bare = upper.startsWith('SWITCH_EVENT_') && upper.length > 13 ? upper.slice(13) : upper;
  return EVENT_NAMES.includes(bare) ? bare : undefined;
}

const URL_UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"';
const HEX = '0123456789ABCDEF';

/** switch_url_encode: byte-wise, keeps an existing valid %XX escape as it is (no double encoding). */
export function urlEncode(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const ch = String.fromCharCode(b);
    if (ch === '%' && i + 2 < bytes.length + 0 && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
      out += ch;
      continue;
    }
    if (b < 0x20 || b > 0x7e || URL_UNSAFE.includes(ch)) out += '%' + HEX[b >> 4] + HEX[b & 0x0f];
    else out += ch;
  }
  return out;
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && HEX.includes(String.fromCharCode(b));
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** An event: ordered headers (FS keeps insertion order and allows duplicates) and an optional body. */
export class FsEvent {
  readonly headers: Array<[string, string]> = [];
  body: string | undefined;

  constructor(readonly name: string, readonly subclass?: string) {}

  add(name: string, value: string | number | undefined): this {
    if (value === undefined) return this;
    this.headers.push([name, String(value)]);
    return this;
  }

  /** Replaces the first header of that name (case-insensitive) or appends. */
  set(name: string, value: string | number): this {
    const i = this.headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (i >= 0) this.headers[i] = [this.headers[i]![0], String(value)];
    else this.headers.push([name, String(value)]);
    return this;
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
  }

  /** switch_event_serialize(encode=TRUE): `Name: url-encoded\n` lines, then the body or a blank line. */
  serializePlain(): string {
    let s = '';
    for (const [n, v] of this.headers) s += `${n}: ${v === '' ? '_undef_' : urlEncode(v)}\n`;
    if (this.body) s += `Content-Length: ${Buffer.byteLength(this.body)}\n\n${this.body}`;
    else s += '\n';
    return s;
  }

  /** switch_event_serialize_json: one flat object, strings only, body as `_body`. */
  serializeJson(): string {
    const o: Record<string, string> = {};
    for (const [n, v] of this.headers) if (!(n in o)) o[n] = v;
    if (this.body) {
      o['Content-Length'] = String(Buffer.byteLength(this.body));
      o['_body'] = this.body;
    }
    return JSON.stringify(o);
  }

  /** switch_event_xmlize as mod_event_socket sends it. */
  serializeXml(): string {
    let s = '<event>\n  <headers>\n';
    for (const [n, v] of this.headers) s += `    <${n}>${xmlEscape(urlEncode(v))}</${n}>\n`;
    s += '  </headers>\n';
    if (this.body) s += `  <Content-Length>${Buffer.byteLength(this.body)}</Content-Length>\n  <body>${xmlEscape(this.body)}</body>\n`;
    return s + '</event>';
  }

  serialize(format: EventFormat): string {
    return format === 'json' ? this.serializeJson() : format === 'xml' ? this.serializeXml() : this.serializePlain();
  }
}

export type EventFormat = 'plain' | 'json' | 'xml';

/** `Sun, 22 Nov 2026 02:48:24 GMT` and `2026-11-22 02:48:24` as switch_event_prep_for_delivery writes them. */
export function eventDates(now = new Date()): { local: string; gmt: string; micros: string } {
  const p = (n: number) => String(n).padStart(2, '0');
  const local = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
  return { local, gmt: now.toUTCString(), micros: String(now.getTime() * 1000 + Math.floor(Math.random() * 1000)) };
}
