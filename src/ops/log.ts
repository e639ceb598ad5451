// pino redaction: secrets never reach a log line, whatever object a caller logs by mistake.
// Field names follow config/secrets.ts SECRET_KEYS (password, secret, ha1, ha1Sha256, token) plus the SIP
// headers that carry credentials.
const FIELDS = ['password', 'sentinelPassword', 'secret', 'ha1', 'ha1Sha256', 'token', 'seatTokenKey', 'authorization', 'proxyAuthorization', 'Authorization', '"Proxy-Authorization"'];

export const LOG_REDACT_PATHS: string[] = [
  ...FIELDS,
  ...FIELDS.map((f) => `*.${f}`),
  ...FIELDS.map((f) => `*.*.${f}`),
  'headers.authorization', 'headers["proxy-authorization"]',
  // The ops API's token list (dialgate.yaml http.tokens), as a server settings object or a snapshot.
  'tokens[*].token', '*.tokens[*].token', '*.*.tokens[*].token', '*.*.*.tokens[*].token',
];
