// `dialgate config check DIR`: validate a config directory and print what it holds.
import { formatErrors, type ConfigError, type ConfigWarning } from './errors.js';
import { loadConfig, type LoadOptions } from './load.js';
import { packageEndDate } from '../policy/inbound/status.js';
import type { ConfigSnapshot } from './types.js';

export interface ConfigCounts {
  tenants: number;
  seats: number;
  trunks: number;
  routes: number;
  tariffs: number;
  /** Global blacklist numbers (inline + list files) and prefixes. */
  blacklistNumbers: number;
  blacklistPrefixes: number;
  /** Numbers in all tenants' do-not-call lists together. */
  tenantBlacklistNumbers: number;
  listFiles: number;
  /** 400 numbers (plans400.yaml). */
  plans400: number;
}

export type ConfigCheckSummary =
  | { ok: true; version: string; counts: ConfigCounts; warnings: ConfigWarning[]; snapshot: ConfigSnapshot }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

export function countSnapshot(s: ConfigSnapshot): ConfigCounts {
  const files = new Set(s.blacklist.files);
  let tenantNumbers = 0;
  for (const t of s.tenants.values()) {
    tenantNumbers += t.blacklist.exact.size;
    t.blacklist.files.forEach((f) => files.add(f));
  }
  return {
    tenants: s.tenants.size,
    seats: s.seats.size,
    trunks: s.trunks.size,
    routes: s.routes.length,
    tariffs: s.tariffs.size,
    blacklistNumbers: s.blacklist.exact.size,
    blacklistPrefixes: s.blacklist.prefixes.length,
    tenantBlacklistNumbers: tenantNumbers,
    listFiles: files.size,
    plans400: s.plans400?.size ?? 0,
  };
}

export async function checkConfigDir(dir: string, opts: LoadOptions = {}): Promise<ConfigCheckSummary> {
  const r = await loadConfig(dir, opts);
  if (!r.ok) return r;
  return { ok: true, version: r.snapshot.version, counts: countSnapshot(r.snapshot), warnings: r.warnings, snapshot: r.snapshot };
}

/** Prints the check result; returns the process exit code (0 valid, 1 invalid). */
export async function runConfigCheck(dir: string, out: NodeJS.WritableStream = process.stdout, opts: LoadOptions = {}): Promise<number> {
  const started = performance.now();
  const r = await checkConfigDir(dir, opts);
  const ms = Math.round(performance.now() - started);
  const lines: string[] = [];
  if (r.ok) {
    const c = r.counts;
    lines.push(`${dir}: ok, version ${r.version.slice(0, 12)} (${ms} ms)`);
    lines.push(`  tenants ${c.tenants}, seats ${c.seats}, trunks ${c.trunks}, routes ${c.routes}, tariffs ${c.tariffs}`);
    lines.push(`  blacklist: ${c.blacklistNumbers} numbers, ${c.blacklistPrefixes} prefixes; tenant do-not-call lists: ${c.tenantBlacklistNumbers} numbers; list files ${c.listFiles}`);
    if (c.plans400 > 0) lines.push(`  400 numbers ${c.plans400}: ${[...r.snapshot.plans400!.values()].map((p) => `${p.number} (${p.owner}, package ${p.package.startDate} up to ${packageEndDate(p.package.startDate, p.package.months)})`).join(', ')}`);
    const dated = [...r.snapshot.tenants.values()].filter((t) => t.validFrom || t.validUntil);
    if (dated.length > 0) lines.push(`  tenant service periods: ${dated.map((t) => `${t.id} ${t.validFrom ?? '…'} up to ${t.validUntil ?? '…'}`).join(', ')}`);
  } else {
    lines.push(`${dir}: ${r.errors.length} error(s), ${r.warnings.length} warning(s)`);
    lines.push(formatErrors(r.errors, 'error'));
  }
  if (r.warnings.length) lines.push(formatErrors(r.warnings, 'warning'));
  out.write(`${lines.join('\n')}\n`);
  return r.ok ? 0 : 1;
}
