// What a committed write tells the rest of the node: the live fan-out (LiveHub) and the
// lifecycle listeners (subscriptions, metrics). Both engines' writers call these after commit.
import type { Logger } from '../common/logger'
import type { LiveHub } from './live'
import { encodeOffset, type Position } from './offsets'
import type { StreamLifecycleListener } from './seams'
import type { AppendPlan } from './write-plan'
import type { AppendSpec } from './write-specs'

/** Calls every listener; one that throws is logged and does not stop the others. */
export function emitTo(listeners: Iterable<StreamLifecycleListener>, log: Logger, fn: (l: StreamLifecycleListener) => void): void {
  for (const l of listeners) {
    try {
      fn(l)
    } catch (err) {
      log.error({ err }, 'lifecycle listener failed')
    }
  }
}

/** What a writer needs of the live hub: staging a committed change. */
export type LiveStaging = Pick<LiveHub, 'stage'>

export function announceAppend(
  hub: LiveStaging,
  listeners: Iterable<StreamLifecycleListener>,
  log: Logger,
  streamId: number,
  spec: AppendSpec,
  plan: Extract<AppendPlan, { kind: 'write' }>,
): void {
  const data = plan.row?.data
  hub.stage(streamId, plan.prev, plan.tail, { row: data, closed: spec.close })
  if (data) {
    const offset = encodeOffset(plan.tail)
    emitTo(listeners, log, (l) => l.onAppended?.(spec.path, offset, data.length))
  }
  if (spec.close) emitTo(listeners, log, (l) => l.onClosed?.(spec.path))
}

export function announceCreate(
  listeners: Iterable<StreamLifecycleListener>,
  log: Logger,
  path: string,
  anchor: Position,
  tail: Position,
  closed: boolean,
): void {
  const startOffset = encodeOffset(anchor)
  emitTo(listeners, log, (l) => l.onCreated?.(path, startOffset))
  if (tail.seq !== anchor.seq) {
    const tailOffset = encodeOffset(tail)
    emitTo(listeners, log, (l) => l.onAppended?.(path, tailOffset))
  }
  if (closed) emitTo(listeners, log, (l) => l.onClosed?.(path))
}

export function announceDelete(hub: LiveStaging, listeners: Iterable<StreamLifecycleListener>, log: Logger, streamId: number, path: string, tail: Position): void {
  hub.stage(streamId, tail, tail, { deleted: true })
  emitTo(listeners, log, (l) => l.onDeleted?.(path))
}
