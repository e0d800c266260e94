/** The two halves of `StreamAccess` (seams.ts) that both engines build the same way. */
import type { StreamEngine } from './engine'
import { encodeOffset } from './offsets'
import type { StreamDescription } from './seams'
import type { StreamMeta } from './stream-store'
import { isExpired } from './write-specs'

/** A stream row as subscriptions see it: null unless live (not deleted, not expired). */
export function describeStream(meta: StreamMeta | undefined, now: number): StreamDescription | null {
  if (!meta || meta.softDeleted || isExpired(meta, now)) return null
  return { tailOffset: encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos }), closed: Boolean(meta.closed), contentType: meta.contentType }
}

/** A plain append (no producer, no Stream-Seq), resolved after commit. */
export async function appendPlain(engine: StreamEngine, path: string, body: Uint8Array, contentType: string): Promise<{ tailOffset: string }> {
  const result = await engine.append({ path, contentType, body, close: false, streamSeq: null, producer: null }, Date.now())
  return { tailOffset: encodeOffset({ seq: result.meta.tailSeq, pos: result.meta.tailPos }) }
}
