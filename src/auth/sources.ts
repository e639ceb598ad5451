// Where a tenant's seats may register and call from (tenants.yaml `allowedSources`: addresses and
// CIDR blocks of the call centre's networks). Ports and numbers are for the customer's own use
// (004 §2.2): a stolen password is useless outside those networks.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** An address or CIDR block: "203.0.113.0/24", "10.1.2.3", "2001:db8::/32". Null when malformed. */
export function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const [address = '', bits, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (!type) return null;
  const max = type === 'ipv4' ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  return prefix >= 0 && prefix <= max ? { address, prefix, type } : null;
}

const lists = new WeakMap<readonly string[], BlockList>();

/** Whether `ip` is inside one of the blocks; an absent or empty list allows every source. */
export function sourceAllowed(allowed: readonly string[] | undefined, ip: string): boolean {
  if (!allowed || allowed.length === 0) return true;
  let list = lists.get(allowed);
  if (!list) {
    list = new BlockList();
    for (const c of allowed) {
      const p = parseCidr(c);
      if (p) list.addSubnet(p.address, p.prefix, p.type);
    }
    lists.set(allowed, list);
  }
  const type = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : null;
  return type !== null && list.check(ip, type);
}
