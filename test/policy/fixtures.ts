// Builders for config snapshots in policy tests (the YAML loader lives in src/config/).
// The default snapshot is modelled on the telesales contract (004): one tenant "acme" with the
// 08:00–19:30 Beijing window (004 §3.2), 0.13 yuan / 60 s (004 §1, §3.1), two trunks with
// failover (004 §2.6), two seats and a blacklist.
import type {
  Blacklist, ConfigSnapshot, NumberSet, Route, Schedule, Seat, Tariff, TariffRate, Tenant, Trunk,
} from '../../src/config/types.js';
import type { LedgerView, OutboundCall } from '../../src/policy/types.js';

export function numberSet(numbers: Iterable<string>): NumberSet {
  const set = new Set(numbers);
  return { has: (n: string) => set.has(n), get size() { return set.size; } };
}

export function blacklist(exact: Iterable<string> = [], prefixes: string[] = []): Blacklist {
  return { exact: numberSet(exact), prefixes, files: [] };
}

/** Epoch ms of a Beijing local time, "2026-03-10T10:00". */
export function beijing(local: string): number {
  return Date.parse(`${local}:00+08:00`);
}

export function window(overrides: Partial<Schedule> = {}): Schedule {
  const day = [{ start: '08:00', end: '19:30' }];
  return {
    timezone: 'Asia/Shanghai',
    weekly: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day },
    holidays: 'ignore',
    holidayRanges: [],
    ...overrides,
  };
}

export function tenant(overrides: Partial<Tenant> = {}): Tenant {
  return {
    id: 'acme',
    name: 'Acme Telesales',
    status: 'active',
    window: window(),
    allowedClasses: ['mobile', 'landline', 'tollfree400', 'tollfree800', 'service'],
    maxConcurrent: 10,
    callerIdPool: ['01088886666', '01088886667'],
    callerIdPolicy: 'deny',
    blacklist: blacklist(['13900000000'], ['1700']),
    tariff: 'telesales',
    account: 'acct-acme',
    recording: true,
    announcements: {},
    warningSeconds: 60,
    ...overrides,
  };
}

export function seat(overrides: Partial<Seat> = {}): Seat {
  return { id: '1001', tenant: 'acme', ha1: '0'.repeat(32), callerId: '01088886666', ...overrides };
}

export function trunk(overrides: Partial<Trunk> & { id: string }): Trunk {
  return {
    uri: `sip:${overrides.id}.carrier.example:5060`,
    maxConcurrent: 100,
    prefix: '',
    strip: 0,
    inboundSources: [],
    timeoutSeconds: 30,
    ...overrides,
  };
}

export function rate(overrides: Partial<TariffRate> = {}): TariffRate {
  return { ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0, ...overrides };
}

export interface SnapshotParts {
  tenants?: Tenant[];
  seats?: Seat[];
  trunks?: Trunk[];
  routes?: Route[];
  tariffs?: Tariff[];
  blacklist?: Blacklist;
}

export function snapshot(parts: SnapshotParts = {}): ConfigSnapshot {
  const tenants = parts.tenants ?? [tenant()];
  const seats = parts.seats ?? [seat(), seat({ id: '1002', callerId: undefined })];
  const trunks = parts.trunks ?? [trunk({ id: 'ct-a' }), trunk({ id: 'cu-b', prefix: '9', strip: 0 })];
  const routes = parts.routes ?? [
    { id: 'default', priority: 100, match: {}, trunks: [{ trunk: 'ct-a', weight: 1 }, { trunk: 'cu-b', weight: 1 }], media: 'anchored' },
  ];
  const tariffs = parts.tariffs ?? [{ id: 'telesales', rates: [rate()] }];
  return {
    version: 'test',
    loadedAt: 0,
    sourceDir: '/tmp/config',
    realm: 'dialgate.test',
    server: {
      realm: 'dialgate.test',
      timezone: 'Asia/Shanghai',
      log: { level: 'info' },
      http: { host: '127.0.0.1', port: 0 },
      drachtio: { host: '127.0.0.1', port: 9022, secret: 'x' },
      freeswitch: { host: '127.0.0.1', port: 8021, secret: 'x', sipAddress: '127.0.0.1:5080', recordingDir: '/tmp', reconcile: { enabled: true, intervalSeconds: 60, graceSeconds: 30 } },
      redis: { kind: 'url', url: 'redis://127.0.0.1:6379', streamShards: 1 },
      cdr: { dir: '/tmp/cdr' },
      drain: { seconds: 300 },
    },
    tenants: new Map(tenants.map((t) => [t.id, t])),
    seats: new Map(seats.map((s) => [s.id, s])),
    trunks: new Map(trunks.map((t) => [t.id, t])),
    routes,
    tariffs: new Map(tariffs.map((t) => [t.id, t])),
    blacklist: parts.blacklist ?? blacklist(['13800000000'], ['0106666']),
  };
}

export function ledger(overrides: Partial<LedgerView> = {}): LedgerView {
  return { available: 1_000_000, tenantActiveCalls: 0, trunkActiveCalls: new Map(), ...overrides };
}

export function call(overrides: Partial<OutboundCall> = {}): OutboundCall {
  return { callId: 'call-1', seatId: '1001', tenantId: 'acme', from: '01088886666', to: '13812345678', ...overrides };
}
