import { describe, expect, it } from 'vitest';
import { pickServer } from '../../src/media/media-farm.js';

describe('pickServer', () => {
  const servers = ['a', 'b', 'c'];
  it('takes the least loaded server that is up, config order on a tie', () => {
    expect(pickServer(servers, () => true, (s) => ({ a: 4, b: 2, c: 2 })[s]!)).toBe('b');
    expect(pickServer(servers, () => true, () => 0)).toBe('a');
  });
  it('skips servers that are down, however idle, and gives none when all are down', () => {
    expect(pickServer(servers, (s) => s !== 'b', (s) => ({ a: 4, b: 0, c: 9 })[s]!)).toBe('a');
    expect(pickServer(servers, () => false, () => 0)).toBeUndefined();
  });
});
