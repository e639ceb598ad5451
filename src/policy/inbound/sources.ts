// The carrier allow-list: inbound INVITEs are taken only from the `inboundSources` of a trunk
// ("ip" = any port of that address, "ip:port" = exactly that one; IPv6 as "[::1]:5060").
import type { ConfigSnapshot, Trunk } from '../../config/types.js';

function matches(entry: string, ip: string, port: number): boolean {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6) return v6[1] === ip && (v6[2] === undefined || Number(v6[2]) === port);
  const colon = entry.lastIndexOf(':');
  if (colon > 0 && entry.indexOf(':') === colon) return entry.slice(0, colon) === ip && Number(entry.slice(colon + 1)) === port;
  return entry === ip;
}

/** The trunk whose inbound sources admit ip:port, or undefined for anyone else. */
export function carrierTrunkFor(cfg: ConfigSnapshot, ip: string, port: number): Trunk | undefined {
  for (const trunk of cfg.trunks.values()) {
    if (trunk.inboundSources.some((e) => matches(e, ip, port))) return trunk;
  }
  return undefined;
}
