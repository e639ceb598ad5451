// The sofia profile settings the stand-in honours, read from the project's profile XML the way
// sofia.c's config loader reads them (every <param name value/> in order).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** <repo>/freeswitch/sip_profiles/drachtio_mrf.xml: what realstack and the compose image load. */
export const DEFAULT_PROFILE_XML = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../freeswitch/sip_profiles/drachtio_mrf.xml');

/** enable-3pcc: `on` answers a no-SDP INVITE with an offer; `proxy` too (200 OK delayed to answer). */
export type ThreePcc = 'off' | 'on' | 'proxy';

export interface ProfileSettings {
  threePcc: ThreePcc;
  /** rtp-timer-name: with a timer, media reads return every frame whether or not the peer sends RTP. */
  rtpTimer: string | null;
  /**
   * inbound-codec-negotiation greedy (or scrooge): an offer is answered with the first codec of the
   * profile's codec-prefs that it contains, not the offer's first. Null: generous (the offer's order).
   */
  greedyPrefs: string[] | null;
  params: Array<[string, string]>;
}

/** switch_true(): yes, on, true, t, enabled, active, allow, or a non-zero number. */
export function switchTrue(v: string): boolean {
  return /^(yes|on|true|t|enabled|active|allow)$/i.test(v.trim()) || (/^-?\d+$/.test(v.trim()) && Number(v) !== 0);
}

export function profileParams(xml: string): Array<[string, string]> {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  const out: Array<[string, string]> = [];
  for (const m of text.matchAll(/<param\b([^>]*)\/?>/g)) {
    const name = /\bname\s*=\s*"([^"]*)"/.exec(m[1]!)?.[1];
    const value = /\bvalue\s*=\s*"([^"]*)"/.exec(m[1]!)?.[1];
    if (name !== undefined && value !== undefined) out.push([name, value]);
  }
  return out;
}

/**
 * `source` is a path or the XML itself (anything containing `<`). A profile that cannot be read
 * counts as empty, i.e. FreeSWITCH's defaults (3pcc off).
 */
export function loadProfile(source: string = DEFAULT_PROFILE_XML): ProfileSettings {
  let xml = '';
  if (source.includes('<')) xml = source;
  else {
    try {
      xml = fs.readFileSync(source, 'utf8');
    } catch {
      xml = '';
    }
  }
  const params = profileParams(xml);
  let threePcc: ThreePcc = 'off';
  for (const [name, value] of params) {
    if (name.toLowerCase() !== 'enable-3pcc') continue;
    // sofia.c sets the flag for true / proxy and never clears it: a later "false" does not undo it.
    if (switchTrue(value)) threePcc = 'on';
    else if (value.toLowerCase() === 'proxy' && threePcc === 'off') threePcc = 'proxy';
  }
  const timer = params.filter(([n]) => n.toLowerCase() === 'rtp-timer-name').at(-1)?.[1] ?? null;
  const last = (n: string) => params.filter(([k]) => k.toLowerCase() === n).at(-1)?.[1];
  const negotiation = (last('inbound-codec-negotiation') ?? 'generous').toLowerCase();
  const prefs = (last('inbound-codec-prefs') ?? last('codec-prefs') ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
  return {
    threePcc, params, rtpTimer: timer && timer.toLowerCase() !== 'none' ? timer : null,
    greedyPrefs: (negotiation === 'greedy' || negotiation === 'scrooge') && prefs.length ? prefs : null,
  };
}
