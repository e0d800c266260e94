import type { ProviderEvent } from '../../../src/lib/gateway/types'

/** Every event a provider step yields, in order. */
export async function collect(events: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = []
  for await (const e of events) out.push(e)
  return out
}
