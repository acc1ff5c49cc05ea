/** CIDR matching for IPv4 and IPv6 (IPv4-mapped IPv6 addresses match IPv4 ranges). */

export interface Cidr {
  v6: boolean;
  base: bigint;
  mask: bigint;
}

export function parseIp(text: string): { v6: boolean; value: bigint } | undefined {
  const s = text.trim();
  if (s.includes(':')) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
    if (mapped) return parseIp(mapped[1]!);
    const parts = s.split('::');
    if (parts.length > 2) return undefined;
    const head = parts[0] ? parts[0].split(':') : [];
    const tail = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
    const fill = 8 - head.length - tail.length;
    if (parts.length === 1 ? head.length !== 8 : fill < 1) return undefined;
    const groups = [...head, ...Array<string>(parts.length === 2 ? fill : 0).fill('0'), ...tail];
    let v = 0n;
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      v = (v << 16n) | BigInt(Number.parseInt(g, 16));
    }
    return { v6: true, value: v };
  }
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return { v6: false, value: v };
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined || !addr) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const width = ip.v6 ? 128 : 32;
  const len = bits === undefined ? width : Number(bits);
  if (!Number.isInteger(len) || len < 0 || len > width || (bits !== undefined && !/^\d+$/.test(bits)))
    return undefined;
  const all = (1n << BigInt(width)) - 1n;
  const mask = len === 0 ? 0n : (all << BigInt(width - len)) & all;
  return { v6: ip.v6, base: ip.value & mask, mask };
}

export function inCidr(ip: string, c: Cidr): boolean {
  const p = parseIp(ip);
  return p !== undefined && p.v6 === c.v6 && (p.value & c.mask) === c.base;
}
