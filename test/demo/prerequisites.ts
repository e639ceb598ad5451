// The demo runs a local redis-server and sipp: check they are on PATH before starting anything,
// so a fresh machine gets one line naming the Debian packages instead of a spawn stack trace.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const NEEDED: readonly { command: string; debian: string }[] = [
  { command: 'redis-server', debian: 'redis-server' },
  { command: 'sipp', debian: 'sip-tester' },
];

function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The one-line message for what is missing, or null when everything is there. */
export function missingPrerequisites(path?: string): string | null {
  const missing = NEEDED.filter((n) => !onPath(n.command, path));
  if (missing.length === 0) return null;
  return `npm run demo needs ${missing.map((m) => m.command).join(' and ')}: apt-get install -y ${missing.map((m) => m.debian).join(' ')}`;
}
