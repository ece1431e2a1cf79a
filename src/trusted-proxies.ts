import { BlockList, isIP } from 'node:net';

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
export const plainAddress = (ip: string): string => (ip.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/**
 * The reverse proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES: addresses and CIDR
 * ranges, IPv4 or IPv6). Anyone else can write any X-Forwarded-For they like, so for them the
 * header means nothing.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  private constructor(entries: string[]) {
    for (const e of entries) {
      const [addr, bits] = e.split('/') as [string, string | undefined];
      const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(addr, family);
      else this.#list.addSubnet(addr, Number(bits), family);
    }
    this.#empty = entries.length === 0;
  }

  /** Why `spec` (comma-separated addresses and ranges) is not a valid list, or null. */
  static problem(spec: string | undefined): string | null {
    for (const e of TrustedProxies.#entries(spec)) {
      const [addr, bits, extra] = e.split('/');
      const family = isIP(addr ?? '');
      const max = family === 6 ? 128 : 32;
      if (!family || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
        return `"${e}" is not an IP address or a CIDR range (such as 10.0.0.0/8 or 2001:db8::/32)`;
      }
    }
    return null;
  }

  /** The list of `spec`; throws on a bad entry (configuration validates it first). */
  static parse(spec: string | undefined): TrustedProxies {
    const why = TrustedProxies.problem(spec);
    if (why) throw new Error(`TRUSTED_PROXIES: ${why}`);
    return new TrustedProxies(TrustedProxies.#entries(spec));
  }

  static #entries(spec: string | undefined): string[] {
    return (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  has(ip: string): boolean {
    if (this.#empty) return false;
    const a = plainAddress(ip);
    const family = isIP(a);
    return family !== 0 && this.#list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }
}
