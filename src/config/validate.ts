// Schema validation of one YAML file with ajv, and the translation of ajv's errors into messages
// with a line, the field path, what was expected, and a hint.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CHECKS } from './value-checks.js';
import { didYouMean, type ConfigError } from './errors.js';
import { SCHEMAS, type ConfigKind } from './schemas.js';
import { SECRET_KEYS } from './secrets.js';
import type { YamlSource } from './source.js';

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
ajv.addVocabulary(['expected']);
ajv.addKeyword({
  keyword: 'dg',
  schemaType: 'string',
  errors: true,
  validate: function dg(check: string, data: unknown): boolean {
    const fn = CHECKS[check];
    if (!fn) throw new Error(`unknown config check ${check}`);
    const failure = fn(data);
    (dg as { errors?: Partial<ErrorObject>[] }).errors = failure
      ? [{ keyword: 'dg', message: failure.reason, params: { check, hint: failure.hint } }]
      : [];
    return failure === null;
  },
});

const compiled = new Map<ConfigKind, ValidateFunction>();
function validator(kind: ConfigKind): ValidateFunction {
  let v = compiled.get(kind);
  if (!v) {
    v = ajv.compile(SCHEMAS[kind]);
    compiled.set(kind, v);
  }
  return v;
}

/** Errors of `src` against the schema of `kind`, each pointing at the offending line. */
export function validateSource(kind: ConfigKind, src: YamlSource): ConfigError[] {
  const v = validator(kind);
  if (v(src.data)) return [];
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  const errors = v.errors ?? [];
  // A misspelt required field shows up twice (unknown `maxConcurent`, missing `maxConcurrent`):
  // the unknown-field error with its "did you mean" says it all.
  const misspelt = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const name = String((e.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys(((e.parentSchema ?? {}) as { properties?: object }).properties ?? {});
    const guess = didYouMean(name, known);
    if (guess) misspelt.add(`${e.instancePath}|${guess}`);
  }
  for (const e of errors) {
    if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      if (misspelt.has(`${e.instancePath}|did you mean \`${missing}\`?`)) continue;
    }
    const issue = describe(e, src);
    const key = `${issue.line}:${issue.column}:${issue.field}:${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(seg) ? Number(seg) : seg;
  });
}

function describe(e: ErrorObject, src: YamlSource): ConfigError {
  const path = pathOf(e.instancePath);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const last = path[path.length - 1];
  const secretField = typeof last === 'string' && SECRET_KEYS.has(last);
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((parent.properties ?? {}) as object);
      const hint = didYouMean(name, known) ?? (known.length ? `known fields here: ${known.join(', ')}` : undefined);
      return src.issue([...path, name], `unknown field \`${name}\``, hint, true);
    }
    case 'required': {
      const name = (e.params as { missingProperty: string }).missingProperty;
      return src.issue([...path, name], `missing required field \`${name}\``, undefined);
    }
    case 'type': {
      const want = String((e.params as { type: string | string[] }).type).replace(',', ' or ');
      return src.issue(path, `expected ${want}, got ${secretField ? typeName(e.data) : show(e.data)}`, typeHint(want, e.data));
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined;
      return src.issue(path, `${show(e.data)} is not one of: ${allowed.join(', ')}`, hint);
    }
    case 'pattern':
      return src.issue(path, `${show(e.data)} is not ${String(parent.expected ?? `matching ${String(parent.pattern)}`)}`);
    case 'dg': {
      const hint = (e.params as { hint?: string }).hint;
      return src.issue(path, e.message ?? 'invalid value', hint);
    }
    case 'minimum':
    case 'maximum': {
      const limit = (e.params as { limit: number }).limit;
      return src.issue(path, `${show(e.data)} is ${e.keyword === 'minimum' ? 'below the minimum' : 'above the maximum'} ${limit}`);
    }
    case 'minItems':
      return src.issue(path, `needs at least ${(e.params as { limit: number }).limit} item(s)`);
    case 'minProperties':
      return src.issue(path, 'must not be empty');
    case 'uniqueItems':
      return src.issue(path, 'lists the same value twice', 'remove the duplicate');
    case 'minLength':
      return src.issue(path, 'must not be empty');
    default:
      return src.issue(path, e.message ?? `invalid (${e.keyword})`);
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeName(v);
}

function typeHint(want: string, got: unknown): string | undefined {
  if (want.startsWith('integer') && typeof got === 'string' && /^\d+$/.test(got)) return 'remove the quotes';
  if (want.startsWith('string') && typeof got === 'number') return `quote it: "${got}"`;
  if (want === 'array' && got !== null && typeof got !== 'object') return `write it as a list: [${String(got)}]`;
  if (want === 'object' && got === null) return 'the value is empty; indent its fields under it';
  if (want === 'boolean' && typeof got === 'string') return 'use true or false without quotes';
  return undefined;
}
