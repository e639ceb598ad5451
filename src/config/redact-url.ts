// The password part of a URL (redis://:pw@host) hidden: no Node imports, so browser code
// (the console) and config types can use it.
export const REDACTED = '[redacted]';

export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:)[^@\s]+@/i, `$1${REDACTED}@`);
}
