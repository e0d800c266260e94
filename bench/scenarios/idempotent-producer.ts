/** The client library's IdempotentProducer (default batching) pushing 200k messages to one stream. */
import { DurableStream, IdempotentProducer } from '@durable-streams/client'
import { makeMessage } from '../messages'
import { now } from '../stats'
import type { Scenario } from './types'

let run = 0

export const idempotentProducer: Scenario = {
  id: 'producer',
  title: 'IdempotentProducer, 200k messages',
  repeats: 3,
  metrics: [{ key: 'rate', label: 'msg/s', unit: 'msg/s', better: 'higher', target: { op: '>=', value: 150_000 } }],
  async run({ server, quick }) {
    const count = quick ? 50_000 : 200_000
    const stream = await DurableStream.create({
      url: server.streamUrl(`producer-${process.pid}-${run++}`),
      contentType: 'application/json',
    })
    const errors: Error[] = []
    const producer = new IdempotentProducer(stream, `bench-${run}`, { onError: (e) => errors.push(e) })
    // Payloads are prepared up front so the timing covers the producer and the server only.
    const messages = Array.from({ length: count }, (_, i) => makeMessage(0, i))
    const start = now()
    for (const m of messages) producer.append(m)
    await producer.flush()
    const elapsed = (now() - start) / 1000
    await producer.detach()
    if (errors.length > 0) throw new Error(`producer errors: ${errors[0].message}`)
    return { rate: count / elapsed }
  },
}
