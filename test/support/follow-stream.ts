/**
 * Live readers of a JSON stream for the cross-node tests: follow a stream's URL over SSE or with
 * long-polls from the start until `count` messages have arrived, resuming from the last offset
 * whenever the server ends a response. Each message becomes what `pick` makes of it.
 */
export interface FollowOptions<T> {
  /** Messages to wait for (those `keep` keeps). */
  count: number
  pick(message: unknown): T
  /** Which messages count (default all). */
  keep?(message: unknown): boolean
  headers?: Record<string, string>
}

const kept = <T>(messages: unknown[], o: FollowOptions<T>): T[] => messages.filter((m) => o.keep?.(m) ?? true).map(o.pick)

/** SSE: a data event counts once its control event (with the offset to resume from) has arrived. */
export async function followSse<T>(streamUrl: string, o: FollowOptions<T>): Promise<T[]> {
  const got: T[] = []
  let offset = '-1'
  while (got.length < o.count) {
    const res = await fetch(`${streamUrl}?offset=${encodeURIComponent(offset)}&live=sse`, { headers: o.headers })
    if (res.status !== 200) throw new Error(`SSE read answered ${res.status}: ${await res.text()}`)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let pending = ''
    let data: T[] = []
    while (got.length < o.count) {
      const { value, done } = await reader.read()
      if (done) break
      pending += decoder.decode(value, { stream: true })
      let cut = pending.indexOf('\n\n')
      while (cut !== -1) {
        const event = pending.slice(0, cut)
        pending = pending.slice(cut + 2)
        const kind = /^event: (\w+)/m.exec(event)?.[1]
        const payload = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5))
          .join('\n')
        if (kind === 'data') data = kept(JSON.parse(payload) as unknown[], o)
        if (kind === 'control') {
          got.push(...data)
          data = []
          offset = (JSON.parse(payload) as { streamNextOffset: string }).streamNextOffset
        }
        cut = pending.indexOf('\n\n')
      }
    }
    await reader.cancel().catch(() => {})
  }
  return got
}

/** Long-poll: 200 with messages, or 204 when the wait ran out; either way resume from stream-next-offset. */
export async function followLongPoll<T>(streamUrl: string, o: FollowOptions<T>): Promise<T[]> {
  const got: T[] = []
  let offset = '-1'
  while (got.length < o.count) {
    const res = await fetch(`${streamUrl}?offset=${encodeURIComponent(offset)}&live=long-poll`, { headers: o.headers })
    if (res.status === 200) got.push(...kept((await res.json()) as unknown[], o))
    else if (res.status !== 204) throw new Error(`long-poll answered ${res.status}: ${await res.text()}`)
    else await res.arrayBuffer()
    offset = res.headers.get('stream-next-offset')!
  }
  return got
}
