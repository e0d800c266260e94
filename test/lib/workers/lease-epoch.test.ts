/** Producer epochs under session leases, and a node's identity and capacity from its settings (issue 14). */
import { describe, expect, it } from 'vitest'
import { parseEnv } from '../../../src/lib/settings/load'
import { nodeIdentity } from '../../../src/lib/workers/node-identity'
import { LEASE_EPOCH_BASE, leaseEpoch } from '../../../src/lib/workers/session-leases'

describe('lease epochs', () => {
  it('order every start of a newer lease above every start of an older one, and the starts of one lease among themselves', () => {
    expect(leaseEpoch(1, 1)).toBeGreaterThan(leaseEpoch(1, 0))
    expect(leaseEpoch(2, 0)).toBeGreaterThan(leaseEpoch(1, 10_000_000))
    // Above any time-based epoch a worker without a lease takes (ms since 1970, until the year 2527).
    expect(leaseEpoch(1, 0)).toBeGreaterThan(Date.UTC(2400, 0, 1))
    expect(leaseEpoch(1, 0)).toBeGreaterThan(LEASE_EPOCH_BASE)
    expect(Number.isSafeInteger(leaseEpoch(2 ** 33 - 2 ** 24 - 1, 2 ** 20))).toBe(true)
  })

  it('refuse a fence that is no positive integer or would leave the safe integers', () => {
    expect(() => leaseEpoch(0, 0)).toThrow(/positive integer/)
    expect(() => leaseEpoch(2 ** 33, 0)).toThrow(/too large/)
  })
})

describe('node identity', () => {
  const machine = { hostname: 'box', memoryBytes: 8 * 1024 ** 3 }

  it('defaults to hostname:port:random (new per process) and to as many worker memory limits as the machine holds', () => {
    const a = nodeIdentity(parseEnv({ PORT: '4000' }), machine)
    const b = nodeIdentity(parseEnv({ PORT: '4000' }), machine)
    expect(a.nodeId).toMatch(/^box:4000:[0-9a-f]{8}$/)
    expect(a.nodeId).not.toBe(b.nodeId)
    expect(a.capacity).toBe(16)
    expect(nodeIdentity(parseEnv({ TETHER_WORKER_MEMORY_MB: '1024' }), machine).capacity).toBe(8)
  })

  it('takes TETHER_NODE_ID and TETHER_NODE_CAPACITY as given, and refuses a malformed id', () => {
    expect(nodeIdentity(parseEnv({ TETHER_NODE_ID: 'tether-0', TETHER_NODE_CAPACITY: '5' }), machine)).toEqual({ nodeId: 'tether-0', capacity: 5 })
    expect(() => parseEnv({ TETHER_NODE_ID: 'no spaces' })).toThrow(/TETHER_NODE_ID/)
    expect(() => parseEnv({ TETHER_NODE_CAPACITY: '-1' })).toThrow(/TETHER_NODE_CAPACITY/)
  })
})
