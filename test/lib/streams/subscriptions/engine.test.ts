/**
 * Cursor, wake, generation, lease and retry logic, driven through the router with an
 * in-memory stream store (FakeStreamAccess) and a recording webhook transport. The real
 * SQLite server runs the same flows in server.test.ts.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { createSubscriptions, type Subscriptions } from '../../../../src/lib/streams/subscriptions'
import { FakeStreamAccess, offsetAt } from './fake-stream-access'
import { call, recordingFetch, waitFor, type RecordedWebhook } from './harness'

const open: Subscriptions[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

function setup(respond: (hook: RecordedWebhook) => { status: number; body?: unknown } | Error = () => ({ status: 200, body: {} })) {
  const access = new FakeStreamAccess()
  const hooks = recordingFetch(respond)
  const subs = createSubscriptions({ access, fetch: hooks.fetch, allowLoopbackWebhooks: true, random: () => 0 })
  access.listener = subs
  open.push(subs)
  return { access, subs, hooks }
}

const webhook = (extra: Record<string, unknown> = {}) => ({
  type: 'webhook',
  pattern: 'events/*',
  webhook: { url: 'http://127.0.0.1:9/hook' },
  lease_ttl_ms: 60_000,
  ...extra,
})

describe('webhook subscriptions', () => {
  test('existing streams join at their tail; a new matching stream wakes with its data pending', async () => {
    const { access, subs, hooks } = setup()
    access.create('events/old', 'application/json', '{"a":1}')
    expect((await call(subs, 'PUT', 'subscriptions/s1', webhook())).status).toBe(201)
    const view = await call(subs, 'GET', 'subscriptions/s1')
    expect(view.json.streams).toEqual([{ path: 'events/old', link_type: 'glob', acked_offset: offsetAt(1) }])
    expect(hooks.received).toHaveLength(0)

    access.create('events/new')
    expect(hooks.received).toHaveLength(0) // empty new stream: nothing pending
    access.write('events/new', '{"b":2}')
    const hook = await waitFor(() => hooks.received[0], 'webhook')
    expect(hook.body).toMatchObject({
      subscription_id: 's1',
      generation: 1,
      callback_url: 'http://streams.test/v1/stream/__ds/subscriptions/s1/callback',
    })
    expect(hook.body.streams).toEqual([
      { path: 'events/new', link_type: 'glob', acked_offset: offsetAt(0), tail_offset: offsetAt(1), has_pending: true },
    ])
    expect(hook.headers['webhook-signature']).toMatch(/^t=\d+,kid=ds_.+,ed25519=/)
  })

  test('re-confirming with the same config is 200, a different config is 409', async () => {
    const { subs } = setup()
    expect((await call(subs, 'PUT', 'subscriptions/s1', webhook({ description: 'x' }))).status).toBe(201)
    expect((await call(subs, 'PUT', 'subscriptions/s1', webhook({ description: 'x' }))).status).toBe(200)
    const conflict = await call(subs, 'PUT', 'subscriptions/s1', webhook({ description: 'y' }))
    expect(conflict.status).toBe(409)
    expect(conflict.json.error.code).toBe('SUBSCRIPTION_ALREADY_EXISTS')
  })

  test('{done:true} acks the snapshot; data that arrived meanwhile wakes a new generation', async () => {
    let first = true
    let access!: FakeStreamAccess
    const env = setup(() => {
      if (first) {
        first = false
        access.write('events/a', '{"late":true}') // arrives after the snapshot was taken
      }
      return { status: 200, body: { done: true } }
    })
    access = env.access
    access.create('events/a')
    await call(env.subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '{"n":1}')
    const second = await waitFor(() => env.hooks.received[1], 'second wake')
    expect(env.hooks.received[0].body.streams[0].tail_offset).toBe(offsetAt(1))
    expect(second.body.generation).toBe(2)
    expect(second.body.wake_id).not.toBe(env.hooks.received[0].body.wake_id)
    expect(second.body.streams[0]).toMatchObject({ acked_offset: offsetAt(1), tail_offset: offsetAt(2) })
    await waitFor(
      async () => (await call(env.subs, 'GET', 'subscriptions/s1')).json.streams[0].acked_offset === offsetAt(2),
      'ack of wake 2',
    )
  })

  test('callbacks are fenced by token, generation and wake id, and validate offsets', async () => {
    const { access, subs, hooks } = setup()
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '1')
    access.write('events/a', '2')
    const { body } = await waitFor(() => hooks.received[0], 'webhook')
    const wake = { wake_id: body.wake_id, generation: body.generation }
    const cb = (payload: unknown, token: string | null = body.callback_token) =>
      call(subs, 'POST', 'subscriptions/s1/callback', payload, token ?? undefined)

    expect((await cb(wake, null)).status).toBe(401)
    expect((await cb(wake, 'not-a-token')).json.error.code).toBe('TOKEN_INVALID')
    expect((await cb({ ...wake, generation: 99 })).json.error.code).toBe('FENCED')
    expect((await cb({ ...wake, wake_id: 'w_other' })).json.error.code).toBe('FENCED')
    const beyond = await cb({ ...wake, acks: [{ stream: 'events/a', offset: offsetAt(3) }] })
    expect([beyond.status, beyond.json.error.code]).toEqual([409, 'INVALID_OFFSET'])

    // Heartbeat with a partial ack, then finish.
    expect((await cb({ ...wake, acks: [{ stream: 'events/a', offset: offsetAt(1) }] })).json).toEqual({ ok: true, next_wake: false })
    const regress = await cb({ ...wake, acks: [{ stream: 'events/a', offset: offsetAt(0) }] })
    expect(regress.json.error.code).toBe('INVALID_OFFSET')
    expect((await cb({ ...wake, acks: [{ stream: 'events/a', offset: offsetAt(2) }], done: true })).json).toEqual({
      ok: true,
      next_wake: false,
    })
    expect((await cb({ ...wake, done: true })).json.error.code).toBe('FENCED')
    expect((await call(subs, 'GET', 'subscriptions/s1')).json.streams[0].acked_offset).toBe(offsetAt(2))
  })

  test('a deleted subscription refuses callbacks and keeps no state', async () => {
    const { access, subs, hooks } = setup()
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '1')
    const { body } = await waitFor(() => hooks.received[0], 'webhook')
    expect((await call(subs, 'DELETE', 'subscriptions/s1')).status).toBe(204)
    const late = await call(
      subs,
      'POST',
      'subscriptions/s1/callback',
      { wake_id: body.wake_id, generation: 1, acks: [{ stream: 'events/a', offset: offsetAt(1) }], done: true },
      body.callback_token,
    )
    expect(late.status).toBe(404)
    // Same id re-created: the old token belongs to a previous incarnation.
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '2')
    await waitFor(() => hooks.received[1], 'wake of the new incarnation')
    const replay = await call(
      subs,
      'POST',
      'subscriptions/s1/callback',
      { wake_id: hooks.received[1].body.wake_id, generation: 1 },
      body.callback_token,
    )
    expect(replay.json.error.code).toBe('TOKEN_INVALID')
  })

  test('failed deliveries back off (status failed, next_attempt_at) and retry the pending work', async () => {
    let failures = 1
    const { access, subs, hooks } = setup(() => (failures-- > 0 ? { status: 503 } : { status: 200, body: { done: true } }))
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '1')
    await waitFor(async () => (await call(subs, 'GET', 'subscriptions/s1')).json.status === 'failed', 'failed status')
    const failed = await call(subs, 'GET', 'subscriptions/s1')
    expect(typeof failed.json.next_attempt_at).toBe('string')
    access.write('events/a', '2') // no delivery while backing off
    expect(hooks.received).toHaveLength(1)
    await waitFor(() => hooks.received[1], 'retry')
    expect(hooks.received[1].body.generation).toBe(2)
    expect(hooks.received[1].body.streams[0].tail_offset).toBe(offsetAt(2))
    await waitFor(async () => (await call(subs, 'GET', 'subscriptions/s1')).json.status === 'active', 'recovery')
  })

  test('network errors count as failed deliveries too', async () => {
    const { access, subs } = setup(() => new Error('ECONNREFUSED'))
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '1')
    await waitFor(async () => (await call(subs, 'GET', 'subscriptions/s1')).json.status === 'failed', 'failed status')
  })

  test('close() stops pending retries', async () => {
    const { access, subs, hooks } = setup(() => ({ status: 500 }))
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/s1', webhook())
    access.write('events/a', '1')
    await waitFor(async () => (await call(subs, 'GET', 'subscriptions/s1')).json.status === 'failed', 'failed status')
    subs.close()
    await new Promise((r) => setTimeout(r, 1_500)) // past the first retry (800-1200 ms)
    expect(hooks.received).toHaveLength(1)
  })

  test('rejects unsafe webhook URLs and malformed requests with clear 4xx', async () => {
    const { subs } = setup()
    const unsafe = await call(subs, 'PUT', 'subscriptions/s1', webhook({ webhook: { url: 'http://10.0.0.1/hook' } }))
    expect([unsafe.status, unsafe.json.error.code]).toEqual([400, 'WEBHOOK_URL_REJECTED'])
    expect((await call(subs, 'PUT', 'subscriptions/s1', { type: 'webhook', webhook: { url: 'http://127.0.0.1/h' } })).status).toBe(400)
    expect((await call(subs, 'PUT', 'subscriptions/s1', webhook({ lease_ttl_ms: 10 }))).json.error.message).toMatch(/lease_ttl_ms/)
    expect((await call(subs, 'PUT', 'subscriptions/bad%2Fid', webhook())).status).toBe(400)
    expect((await call(subs, 'GET', 'subscriptions/missing')).status).toBe(404)
    expect((await call(subs, 'GET', 'elsewhere')).status).toBe(404)
    expect((await call(subs, 'PATCH', 'subscriptions/s1')).status).toBe(405)
  })

  test('loopback webhooks are refused unless allowed', async () => {
    const access = new FakeStreamAccess()
    const subs = createSubscriptions({ access })
    open.push(subs)
    const res = await call(subs, 'PUT', 'subscriptions/s1', webhook())
    expect(res.json.error.code).toBe('WEBHOOK_URL_REJECTED')
  })
})

describe('stream membership', () => {
  test('explicit links add and remove; a glob link survives removal of the explicit one', async () => {
    const { access, subs } = setup()
    access.create('events/both', 'application/json', '1')
    await call(subs, 'PUT', 'subscriptions/s1', webhook({ streams: ['manual/a'] }))
    expect((await call(subs, 'POST', 'subscriptions/s1/streams', { streams: ['manual/b', 'events/both'] })).status).toBe(204)
    let streams = (await call(subs, 'GET', 'subscriptions/s1')).json.streams
    expect(streams).toEqual([
      { path: 'events/both', link_type: 'explicit', acked_offset: offsetAt(1) },
      { path: 'manual/a', link_type: 'explicit', acked_offset: '-1' },
      { path: 'manual/b', link_type: 'explicit', acked_offset: '-1' },
    ])
    expect((await call(subs, 'DELETE', `subscriptions/s1/streams/${encodeURIComponent('manual/b')}`)).status).toBe(204)
    expect((await call(subs, 'DELETE', 'subscriptions/s1/streams/events%2Fboth')).status).toBe(204)
    expect((await call(subs, 'DELETE', 'subscriptions/s1/streams/never%2Flinked')).status).toBe(204)
    streams = (await call(subs, 'GET', 'subscriptions/s1')).json.streams
    expect(streams.map((s: { path: string; link_type: string }) => `${s.path}:${s.link_type}`)).toEqual([
      'events/both:glob',
      'manual/a:explicit',
    ])
  })

  test('deleting a stream drops glob links and restarts explicit ones from the beginning', async () => {
    const { access, subs, hooks } = setup(() => ({ status: 200, body: { done: true } }))
    access.create('events/g', 'application/json', '1')
    access.create('manual/x', 'application/json', '1')
    await call(subs, 'PUT', 'subscriptions/s1', webhook({ streams: ['manual/x'] }))
    access.remove('events/g')
    access.remove('manual/x')
    expect((await call(subs, 'GET', 'subscriptions/s1')).json.streams).toEqual([
      { path: 'manual/x', link_type: 'explicit', acked_offset: '-1' },
    ])
    access.create('manual/x', 'application/json', '{"again":1}')
    const hook = await waitFor(() => hooks.received[0], 'wake for the re-created stream')
    expect(hook.body.streams[0]).toMatchObject({ path: 'manual/x', acked_offset: offsetAt(0), tail_offset: offsetAt(1) })
  })
})

describe('pull-wake subscriptions', () => {
  const pull = (extra: Record<string, unknown> = {}) => ({
    type: 'pull-wake',
    pattern: 'events/*',
    wake_stream: 'wake/pool',
    lease_ttl_ms: 60_000,
    ...extra,
  })

  test('requires an existing JSON wake stream', async () => {
    const { access, subs } = setup()
    expect((await call(subs, 'PUT', 'subscriptions/p', pull())).json.error.message).toMatch(/does not exist/)
    access.create('wake/pool', 'text/plain')
    expect((await call(subs, 'PUT', 'subscriptions/p', pull())).json.error.message).toMatch(/application\/json/)
  })

  test('wake event, claim, busy, heartbeat, done, and release that re-wakes', async () => {
    const { access, subs } = setup()
    access.create('wake/pool')
    access.create('events/a')
    expect((await call(subs, 'PUT', 'subscriptions/p', pull())).status).toBe(201)
    expect((await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w1' })).json.error.code).toBe('NO_PENDING_WORK')

    access.write('events/a', '1')
    const wakeEvents = () => access.streams.get('wake/pool')!.messages.map((m) => JSON.parse(m))
    await waitFor(() => wakeEvents().length === 1, 'wake event')
    expect(wakeEvents()[0]).toMatchObject({ type: 'wake', subscription_id: 'p', stream: 'events/a', generation: 1 })

    const claim = await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w1' })
    expect(claim.status).toBe(200)
    expect(claim.json).toMatchObject({
      generation: 1,
      lease_ttl_ms: 60_000,
      streams: [{ path: 'events/a', tail_offset: offsetAt(1), has_pending: true }],
    })
    const busy = await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w2' })
    expect(busy.json.error).toMatchObject({ code: 'ALREADY_CLAIMED', current_holder: 'w1', generation: 1 })

    const wake = { wake_id: claim.json.wake_id, generation: 1 }
    expect((await call(subs, 'POST', 'subscriptions/p/callback', wake, claim.json.token)).status).toBe(400)
    expect((await call(subs, 'POST', 'subscriptions/p/ack', wake, claim.json.token)).json).toEqual({ ok: true, next_wake: false })
    access.write('events/a', '2') // arrives while claimed: no new wake event
    expect(wakeEvents()).toHaveLength(1)
    const done = await call(
      subs,
      'POST',
      'subscriptions/p/ack',
      { ...wake, acks: [{ stream: 'events/a', offset: offsetAt(1) }], done: true },
      claim.json.token,
    )
    expect(done.json).toEqual({ ok: true, next_wake: true })
    await waitFor(() => wakeEvents().length === 2, 'second wake event')
    expect(wakeEvents()[1].generation).toBe(2)

    const claim2 = await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w2' })
    const wake2 = { wake_id: claim2.json.wake_id, generation: 2 }
    expect((await call(subs, 'POST', 'subscriptions/p/release', wake, claim.json.token)).json.error.code).toBe('FENCED')
    expect((await call(subs, 'POST', 'subscriptions/p/release', wake2, claim2.json.token)).status).toBe(204)
    await waitFor(() => wakeEvents().length === 3, 'wake event after release with work pending')
    expect(wakeEvents()[2].generation).toBe(3)
  })

  test('an expired lease clears the holder and announces a new wake', async () => {
    const { access, subs } = setup()
    access.create('wake/pool')
    access.create('events/a')
    await call(subs, 'PUT', 'subscriptions/p', pull({ lease_ttl_ms: 1_000 }))
    access.write('events/a', '1')
    const claim = await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w1' })
    expect(claim.status).toBe(200)
    await waitFor(() => access.streams.get('wake/pool')!.messages.length === 2, 'wake after lease expiry')
    const stale = await call(
      subs,
      'POST',
      'subscriptions/p/ack',
      { wake_id: claim.json.wake_id, generation: 1, done: true },
      claim.json.token,
    )
    expect(stale.json.error.code).toBe('FENCED')
    const again = await call(subs, 'POST', 'subscriptions/p/claim', { worker: 'w2' })
    expect(again.json.generation).toBe(2)
  })

  test('a subscription never links its own wake stream', async () => {
    const { access, subs } = setup()
    access.create('events/wake')
    await call(subs, 'PUT', 'subscriptions/p', pull({ wake_stream: 'events/wake' }))
    expect((await call(subs, 'GET', 'subscriptions/p')).json.streams).toEqual([])
    expect((await call(subs, 'POST', 'subscriptions/p/streams', { streams: ['events/wake'] })).status).toBe(400)
  })
})
