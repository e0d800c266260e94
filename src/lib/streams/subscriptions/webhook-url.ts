/**
 * SSRF defences for webhook targets (PROTOCOL.md sections 6.2 and 12.8).
 *
 * - Production targets must be `https://` to a public host name or public IP.
 * - Loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) is refused unless
 *   `allowLoopback` is set (development and tests); then http and https are both accepted.
 * - Private, link-local (incl. the 169.254.169.254 metadata endpoint), CGNAT, multicast,
 *   reserved and documentation ranges are always refused, as are single-label and
 *   `.local`/`.internal` names. `isBlockedAddress` is applied again to every address a host
 *   name resolves to at delivery time, which stops DNS names that point inside.
 */
import { BlockList, isIP } from 'node:net'

const alwaysBlocked = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  alwaysBlocked.addSubnet(net, bits, 'ipv4')
for (const [net, bits] of [
  ['::', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  alwaysBlocked.addSubnet(net, bits, 'ipv6')

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

function family(ip: string): 'ipv4' | 'ipv6' | null {
  const v = isIP(ip)
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null
}

export function isLoopbackAddress(ip: string): boolean {
  const f = family(ip)
  return f !== null && loopback.check(ip, f)
}

/** True if a connection to this IP must not be made. (IPv4-mapped IPv6 is checked as IPv4.) */
export function isBlockedAddress(ip: string, allowLoopback: boolean): boolean {
  const f = family(ip)
  if (f === null) return true
  if (loopback.check(ip, f)) return !allowLoopback
  return alwaysBlocked.check(ip, f)
}

function isLoopbackName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost')
}

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string }

export function checkWebhookUrl(raw: string, opts: { allowLoopback: boolean }): WebhookUrlCheck {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, reason: 'webhook.url is not a valid absolute URL' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'webhook.url must use https' }
  }
  if (url.username || url.password) return { ok: false, reason: 'webhook.url must not carry credentials' }
  // WHATWG URL already canonicalises odd IPv4 spellings (0x7f.1, 2130706433) to dotted quads.
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase()
  if (host.length === 0) return { ok: false, reason: 'webhook.url has no host' }

  const loopbackTarget = isLoopbackName(host) || isLoopbackAddress(host)
  if (loopbackTarget) {
    return opts.allowLoopback ? { ok: true, url } : { ok: false, reason: 'loopback webhook targets are disabled on this server' }
  }
  if (url.protocol !== 'https:') {
    return { ok: false, reason: 'webhook.url must use https (http only for loopback in development)' }
  }
  if (family(host) !== null) {
    return isBlockedAddress(host, opts.allowLoopback)
      ? { ok: false, reason: 'webhook.url targets a private, link-local or reserved address' }
      : { ok: true, url }
  }
  if (!host.includes('.')) return { ok: false, reason: 'webhook.url host must be a fully qualified name' }
  if (/\.(local|localdomain|internal|intranet|lan|home\.arpa)$/.test(host)) {
    return { ok: false, reason: 'webhook.url targets a local-network name' }
  }
  return { ok: true, url }
}
