import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a remote source may connect to: public unicast only. Refused: loopback, private (RFC 1918),
 * link-local (cloud metadata at 169.254.169.254), CGNAT (100.64/10), multicast, broadcast, reserved and
 * documentation ranges, IPv6 unique-local, site-local and link-local, and every IPv6 form that carries an IPv4
 * address inside (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`,
 * Teredo `2001::/32`): the router or translator on the way would deliver them to the embedded address.
 * Returns why an address is refused, or undefined when it is allowed.
 */
export function refusedAddress(ip: string): string | undefined {
  if (!ipaddr.isValid(ip)) return 'not an IP address';
  const parsed = ipaddr.parse(ip);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return `IPv4-mapped ${refusedAddress(v6.toIPv4Address().toString()) ?? 'address'}`;
    // IPv4-compatible (::a.b.c.d, deprecated): the first 96 bits zero.
    if (v6.parts.slice(0, 6).every((p) => p === 0)) return 'IPv4-compatible address';
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : `${range} address`;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) => new Promise((resolve, reject) => {
  dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
});

/**
 * A `lookup` for http.Agent / net.connect that resolves as usual (or with `resolve`), then refuses the
 * connection when any resolved address is refused: checked on the address actually connected to, on every new
 * connection, so DNS rebinding (a name resolving public first and private later) gains nothing. `allowLoopback`
 * admits 127/8 and ::1 only (tests reach a local origin with it).
 */
export function guardedLookup(allowLoopback: boolean, resolve: Resolver = systemResolver) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    resolve(hostname).then((addresses) => {
      for (const a of addresses) {
        const why = refusedFor(a.address, allowLoopback);
        if (why) {
          const refused = Object.assign(new Error(`Refusing to connect to ${hostname} (${a.address}): ${why}`), { code: 'ERR_ADDRESS_REFUSED' });
          return callback(refused, '');
        }
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if ((options as LookupAllOptions).all) return callback(null, addresses);
      callback(null, first.address, first.family);
    }, (err: NodeJS.ErrnoException) => callback(err, ''));
  };
}

/** refusedAddress, with loopback let through when the setting allows it. */
export function refusedFor(ip: string, allowLoopback: boolean): string | undefined {
  const why = refusedAddress(ip);
  if (why && allowLoopback && ipaddr.isValid(ip) && ipaddr.process(ip).range() === 'loopback') return undefined;
  return why;
}
