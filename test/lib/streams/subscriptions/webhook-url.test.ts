import { describe, expect, test } from 'vitest'
import { checkWebhookUrl, isBlockedAddress } from '../../../../src/lib/streams/subscriptions/webhook-url'

const prod = { allowLoopback: false }
const dev = { allowLoopback: true }

describe('checkWebhookUrl', () => {
  test('accepts https to a public host', () => {
    expect(checkWebhookUrl('https://hooks.example.com/ds', prod).ok).toBe(true)
    expect(checkWebhookUrl('https://93.184.216.34/hook', prod).ok).toBe(true)
  })
  test('rejects plain http to non-loopback hosts, even in development', () => {
    expect(checkWebhookUrl('http://hooks.example.com/ds', prod).ok).toBe(false)
    expect(checkWebhookUrl('http://10.0.0.1/hook', dev).ok).toBe(false)
  })
  test('rejects private, link-local, metadata, CGNAT and IPv6 local targets', () => {
    for (const url of [
      'https://10.1.2.3/',
      'https://172.20.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:10.0.0.1]/',
    ]) {
      expect(checkWebhookUrl(url, dev), url).toMatchObject({ ok: false })
    }
  })
  test('loopback is refused by default and accepted when allowed', () => {
    for (const url of ['http://127.0.0.1:8080/h', 'http://localhost/h', 'https://[::1]/h', 'http://2130706433/', 'http://a.localhost/']) {
      expect(checkWebhookUrl(url, prod).ok, url).toBe(false)
      expect(checkWebhookUrl(url, dev).ok, url).toBe(true)
    }
  })
  test('rejects local-network names, credentials and other schemes', () => {
    expect(checkWebhookUrl('https://printer.local/', prod).ok).toBe(false)
    expect(checkWebhookUrl('https://metadata.google.internal/', prod).ok).toBe(false)
    expect(checkWebhookUrl('https://intranet/', prod).ok).toBe(false)
    expect(checkWebhookUrl('https://user:pw@hooks.example.com/', prod).ok).toBe(false)
    expect(checkWebhookUrl('ftp://hooks.example.com/', prod).ok).toBe(false)
    expect(checkWebhookUrl('not a url', prod).ok).toBe(false)
  })
})

describe('isBlockedAddress (applied to resolved addresses at delivery)', () => {
  test('blocks internal addresses, allows public ones, loopback only when allowed', () => {
    expect(isBlockedAddress('8.8.8.8', false)).toBe(false)
    expect(isBlockedAddress('2606:4700:4700::1111', false)).toBe(false)
    expect(isBlockedAddress('192.168.0.5', true)).toBe(true)
    expect(isBlockedAddress('127.0.0.1', false)).toBe(true)
    expect(isBlockedAddress('127.0.0.1', true)).toBe(false)
    expect(isBlockedAddress('::1', true)).toBe(false)
    expect(isBlockedAddress('not-an-ip', true)).toBe(true)
  })
})
