// Public surface of config/: load, check, diff, hot-reloading store, secrets redaction.
export type * from './types.js';
export { loadConfig, type LoadOptions, type LoadResult } from './load.js';
export { checkConfigDir, runConfigCheck, countSnapshot, type ConfigCheckSummary, type ConfigCounts } from './check.js';
export { formatErrors, type ConfigError, type ConfigWarning } from './errors.js';
export { diffSnapshots, formatDiff, type ConfigDiff, type KindDiff, type DiffKind } from './diff.js';
export {
  ConfigStore, ConfigLoadError, reloadOnSighup,
  type ConfigStoreOptions, type ConfigStoreEvents, type ConfigStatus, type ConfigLogger,
  type ReloadResult, type ReloadFailure, type ReloadedEvent, type RejectedEvent,
} from './store.js';
export { redactSecrets, redactUrl, computeHa1, SECRET_LOG_PATHS, REDACTED, type SecretSpec } from './secrets.js';
export { parseYuan, formatYuan, UNITS_PER_YUAN } from './money.js';
export { CompactNumberSet, NumberSetBuilder, encodeNumber } from './numberset.js';
export { loadListFile, type ListFileSpec, type ListLoadResult } from './listfile.js';
export { toNationalNumber } from './national.js';
