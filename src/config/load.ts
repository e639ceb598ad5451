// loadConfig(dir): read the config directory, validate every file against its schema, build the
// entities, check cross-references, load the blacklists, and produce one immutable snapshot whose
// version is a hash of the files it was made from.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BlacklistCache, buildBlacklist, EMPTY_BLACKLIST } from './blacklist.js';
import {
  buildRoute, buildSeat, buildServer, buildTariff, buildTenant, buildTrunk,
  type BlacklistYaml, type BuildContext, type Item, type RouteYaml, type SeatYaml, type TariffYaml,
  type TenantDraft, type TenantYaml, type TrunkYaml,
} from './build.js';
import { checkReferences, Registry, routeOrder, type Registries } from './crossref.js';
import { didYouMean, IssueList, type ConfigError, type ConfigWarning } from './errors.js';
import { FILE_NAMES, type ConfigKind } from './schemas.js';
import { YamlSource } from './source.js';
import type { Blacklist, ConfigSnapshot, ServerSettings, Tenant } from './types.js';
import { validateSource } from './validate.js';
import { buildPlans400, finishPlans400, type Plans400Build } from './plans400.js';

export type LoadResult =
  | { ok: true; snapshot: ConfigSnapshot; warnings: ConfigWarning[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

export interface LoadOptions {
  /** Environment for `{ env: NAME }` secrets; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock for loadedAt and the end-date / holiday-calendar warnings; default Date.now. */
  now?: () => number;
  /** Reuses built blacklist sets whose files did not change (the ConfigStore passes one). */
  blacklistCache?: BlacklistCache;
}

/** Kinds whose entities may be split over `<kind>.yaml` and `<kind>/*.yaml`. */
const LIST_KINDS = ['tenants', 'seats', 'trunks', 'routes', 'tariffs'] as const;
type ListKind = (typeof LIST_KINDS)[number];

const YAML_EXT = /\.ya?ml$/;

interface Discovered { kind: ConfigKind; rel: string }

async function discover(dir: string, issues: IssueList): Promise<Discovered[]> {
  const byName = new Map<string, ConfigKind>(Object.entries(FILE_NAMES).map(([k, n]) => [n, k as ConfigKind]));
  const entries = await readdir(dir, { withFileTypes: true });
  const out: Discovered[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() && (LIST_KINDS as readonly string[]).includes(e.name)) {
      const inner = (await readdir(join(dir, e.name))).filter((n) => YAML_EXT.test(n) && !n.startsWith('.')).sort();
      for (const n of inner) out.push({ kind: e.name as ListKind, rel: `${e.name}/${n}` });
      continue;
    }
    if (!e.isFile() || !YAML_EXT.test(e.name)) continue;
    const base = e.name.replace(YAML_EXT, '');
    const kind = byName.get(base);
    if (kind) {
      const twin = out.find((d) => d.kind === kind && !d.rel.includes('/'));
      if (twin) {
        issues.error({ file: e.name, line: 0, column: 0, field: '', message: `both ${twin.rel} and ${e.name} exist`, hint: 'keep one of them' });
        continue;
      }
      out.push({ kind, rel: e.name });
    } else {
      issues.warn({
        file: e.name, line: 0, column: 0, field: '', message: 'not a dialgate config file; ignored',
        hint: didYouMean(base, byName.keys())?.replace(/`\?$/, '.yaml`?') ?? `config files are: ${[...byName.keys()].map((n) => `${n}.yaml`).join(', ')}`,
      });
    }
  }
  // `<kind>.yaml` before `<kind>/*.yaml`: the first definition of an id is the one kept.
  const depth = (d: Discovered): number => d.rel.split('/').length;
  return out.sort((a, b) => depth(a) - depth(b) || (a.rel < b.rel ? -1 : 1));
}

export async function loadConfig(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const abs = resolve(dir);
  const issues = new IssueList();
  const fail = (): LoadResult => ({ ok: false, ...issues.sorted() });
  let files: Discovered[];
  try {
    files = await discover(abs, issues);
  } catch (e) {
    issues.error({ file: dir, line: 0, column: 0, field: '', message: `cannot read config directory (${(e as NodeJS.ErrnoException).code ?? String(e)})` });
    return fail();
  }
  if (!files.some((f) => f.kind === 'server')) {
    issues.error({ file: 'dialgate.yaml', line: 0, column: 0, field: '', message: 'missing: the server settings file (realm, drachtio, freeswitch, redis)', hint: 'copy config/dialgate.yaml from the dialgate repository' });
  }

  // Parse and validate every file; remember which items failed so they are skipped, not guessed.
  const fileHashes = new Map<string, string>();
  const valid: { kind: ConfigKind; src: YamlSource; badItems: Set<number> | 'all' }[] = [];
  for (const f of files) {
    const text = await readFile(join(abs, f.rel), 'utf8');
    fileHashes.set(f.rel, createHash('sha256').update(text).digest('hex'));
    const src = new YamlSource(f.rel, text);
    if (src.syntaxErrors.length) {
      src.syntaxErrors.forEach((e) => issues.error(e));
      valid.push({ kind: f.kind, src, badItems: 'all' });
      continue;
    }
    if (src.data === null || src.data === undefined) {
      if (f.kind === 'server') issues.error({ file: f.rel, line: 0, column: 0, field: '', message: 'the file is empty' });
      continue; // an empty entity file simply defines nothing
    }
    const errors = validateSource(f.kind, src);
    errors.forEach((e) => issues.error(e));
    valid.push({ kind: f.kind, src, badItems: itemsWithErrors(f.kind, errors) });
  }

  const env = opts.env ?? process.env;
  const now = (opts.now ?? Date.now)();
  const ctx: BuildContext = { dir: abs, env, issues, realm: undefined, timezone: 'Asia/Shanghai', now, defaultedSecrets: new Map() };

  // dialgate.yaml first: the realm (for HA1) and the default time zone come from it.
  let server: ServerSettings | undefined;
  let serverSrc: YamlSource | undefined;
  for (const v of valid.filter((x) => x.kind === 'server' && x.badItems !== 'all')) {
    if ((v.badItems as Set<number>).size) continue;
    serverSrc = v.src;
    server = await buildServer({ src: v.src, path: [], data: v.src.data as never }, ctx);
    if (server) {
      ctx.realm = server.realm;
      ctx.timezone = server.timezone;
    }
  }

  const reg: Registries = {
    tenants: new Registry('tenant'), seats: new Registry('seat'), trunks: new Registry('trunk'),
    routes: new Registry('route'), tariffs: new Registry('tariff'),
  };
  const tenantBlacklists = new Map<string, Item<TenantYaml>>();
  for (const kind of LIST_KINDS) {
    const registry = reg[kind] as Registry<{ id: string }>;
    for (const v of valid.filter((x) => x.kind === kind)) {
      const items = itemsOf(kind, v.src);
      if (!items) {
        registry.reliable = false;
        continue;
      }
      for (const [i, data] of items.entries()) {
        const item: Item = { src: v.src, path: [kind, i], data };
        if (v.badItems === 'all' || v.badItems.has(i)) {
          if (typeof data.id === 'string' || typeof data.id === 'number') registry.known.add(String(data.id));
          continue;
        }
        const value = await buildOne(kind, item, ctx);
        if (!value) {
          registry.known.add(String(data.id));
          continue;
        }
        if (registry.add({ value, src: v.src, path: item.path }, issues) && kind === 'tenants') {
          tenantBlacklists.set(value.id, item as Item<TenantYaml>);
        }
      }
    }
  }
  checkReferences(reg, issues);
  // A tenant-viewer token reads one tenant: that tenant must exist.
  server?.http.tokens?.forEach((t, i) => {
    if (t.tenant !== undefined && serverSrc) reg.tenants.expect(t.tenant, serverSrc, ['http', 'tokens', i, 'tenant'], issues, 'tenant');
  });
  // plans400.yaml (contract 002) refers to tenants, seats and trunks: built once they are known.
  const plans: Plans400Build = { drafts: [], callerBlacklists: new Map() };
  for (const v of valid.filter((x) => x.kind === 'plans400' && x.badItems !== 'all')) {
    await buildPlans400(v.src, ctx, reg, plans, v.badItems as Set<number>);
  }
  warnDefaultedSecrets(ctx, issues);

  // Blacklists last: they may read large files, and there is no point if the config is broken.
  if (issues.errors.length) return fail();
  const bctx = { dir: abs, issues, fileHashes, ...(opts.blacklistCache ? { cache: opts.blacklistCache } : {}) };
  let globalBlacklist: Blacklist | undefined = EMPTY_BLACKLIST;
  const blv = valid.find((x) => x.kind === 'blacklist');
  if (blv) {
    globalBlacklist = await buildBlacklist(blv.src, ['blacklist'], (blv.src.data as { blacklist: BlacklistYaml }).blacklist, bctx);
  }
  const tenants = new Map<string, Tenant>();
  for (const [id, p] of reg.tenants.byId) {
    const item = tenantBlacklists.get(id)!;
    const bl = await buildBlacklist(item.src, [...item.path, 'blacklist'], item.data.blacklist, bctx);
    if (bl) tenants.set(id, deepFreeze({ ...p.value, blacklist: bl }));
  }
  const plans400 = await finishPlans400(plans, bctx);
  opts.blacklistCache?.prune();
  if (issues.errors.length || !server || !globalBlacklist || !plans400) return fail();

  const snapshot: ConfigSnapshot = {
    version: versionOf(fileHashes),
    loadedAt: now,
    sourceDir: abs,
    realm: server.realm,
    server: deepFreeze(server),
    tenants,
    seats: freezeMap(reg.seats),
    trunks: freezeMap(reg.trunks),
    routes: Object.freeze(routeOrder([...reg.routes.byId.values()]).map((p) => deepFreeze(p.value))),
    tariffs: freezeMap(reg.tariffs),
    blacklist: globalBlacklist,
    plans400: new Map([...plans400].map(([n, p]) => [n, deepFreeze(p)])),
  };
  return { ok: true, snapshot: Object.freeze(snapshot), warnings: issues.sorted().warnings };
}

async function buildOne(kind: ListKind, item: Item, ctx: BuildContext): Promise<{ id: string } | undefined> {
  switch (kind) {
    case 'tenants': return buildTenant(item as Item<TenantYaml>, ctx) satisfies TenantDraft;
    case 'seats': return buildSeat(item as Item<SeatYaml>, ctx);
    case 'trunks': return buildTrunk(item as Item<TrunkYaml>, ctx);
    case 'routes': return buildRoute(item as Item<RouteYaml>);
    case 'tariffs': return buildTariff(item as Item<TariffYaml>, ctx);
  }
}

function itemsOf(kind: ListKind, src: YamlSource): Record<string, unknown>[] | undefined {
  const list = (src.data as Record<string, unknown> | undefined)?.[kind];
  if (!Array.isArray(list)) return undefined;
  return list.map((x) => (typeof x === 'object' && x !== null ? x as Record<string, unknown> : {}));
}

/** Indices of list items that have schema errors; 'all' if the file's shape itself is wrong. */
function itemsWithErrors(kind: ConfigKind, errors: ConfigError[]): Set<number> | 'all' {
  const bad = new Set<number>();
  for (const e of errors) {
    const m = /^(\w+)\[(\d+)\]/.exec(e.field);
    if (m && m[1] === kind) bad.add(Number(m[2]));
    else if (kind !== 'server' && kind !== 'blacklist') return 'all';
    else bad.add(-1);
  }
  return bad;
}

function warnDefaultedSecrets(ctx: BuildContext, issues: IssueList): void {
  for (const [src, list] of ctx.defaultedSecrets) {
    const first = list[0]!;
    issues.warn(src.issue(first.path,
      `${list.length} secret(s) use the demo \`default:\` because ${list.map((l) => l.env).join(', ')} ${list.length > 1 ? 'are' : 'is'} not set`,
      'set the environment variables in production; the defaults are for the demo only'));
  }
}

/** sha256 over "path\0sha256(content)" lines sorted by path: YAML files and list files. */
function versionOf(hashes: Map<string, string>): string {
  const h = createHash('sha256');
  for (const name of [...hashes.keys()].sort()) h.update(`${name}\0${hashes.get(name)!}\n`);
  return h.digest('hex');
}

function freezeMap<T extends { id: string }>(r: Registry<T>): ReadonlyMap<string, T> {
  return new Map([...r.byId].map(([id, p]) => [id, deepFreeze(p.value)]));
}

/** Freezes plain objects and arrays; leaves class instances (NumberSet) alone. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
