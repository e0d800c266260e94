/** The worker's side of lease epochs (issue 14): how the supervisor's epoch reaches it, and what a later run without one claims. */
import { describe, expect, it } from 'vitest'
import { loadWorkerSettings } from '../../src/lib/settings/worker-settings'
import { claimEnv } from '../../src/lib/workers/runtime'
import { leaseEpoch } from '../../src/lib/workers/session-leases'
import { OwnEpochs } from '../../src/worker/own-epochs'
import { parseClaimLine } from '../../src/worker/session-config'

const claim = { sessionId: 's1', serverUrl: 'http://127.0.0.1:1', token: 'x.y.z' }

describe('a lease epoch reaching the worker', () => {
  it('rides in the environment of a cold start and in the claim line of a warm one', () => {
    const epoch = leaseEpoch(3, 1)
    expect(loadWorkerSettings(claimEnv({ ...claim, epoch }), '/tmp').identity?.epoch).toBe(epoch)
    expect(parseClaimLine(JSON.stringify({ ...claim, epoch })).identity.epoch).toBe(epoch)
  })

  it('is absent without a lease, and anything but a positive safe integer is ignored', () => {
    expect(loadWorkerSettings(claimEnv(claim), '/tmp').identity).not.toHaveProperty('epoch')
    for (const epoch of [-1, 0, 1.5, 'twelve', 2 ** 60]) expect(parseClaimLine(JSON.stringify({ ...claim, epoch })).identity.epoch).toBeUndefined()
    expect(loadWorkerSettings({ ...claimEnv(claim), TETHER_PRODUCER_EPOCH: 'abc' }, '/tmp').identity?.epoch).toBeUndefined()
  })
})

describe("an agent's own epochs from event ids", () => {
  it("keeps the largest epoch of each agent's upserts, ignoring immutable ids and other producers", () => {
    const own = new OwnEpochs()
    for (const id of [`agent:a:${leaseEpoch(2, 0)}:1`, 'agent:a:1700000000000:9', `agent:b:${leaseEpoch(1, 0)}:1`, 'chunk:agent:a:t1:s1:0', undefined, 'user:alice:5:1']) {
      own.note(id)
    }
    expect(own.of('a')).toBe(leaseEpoch(2, 0))
    expect(own.of('b')).toBe(leaseEpoch(1, 0))
    expect(own.of('c')).toBe(0)
  })
})
