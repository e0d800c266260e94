/**
 * Server start (the supervisor's first reconcile): workers left by an earlier run (containers
 * survive a server crash). Each that serves a wanted unit (its session and agent label) is
 * restarted as that unit on its work volume with a fresh token; the rest are removed, and so are
 * the runtime's dangling volumes.
 */
import type { Logger } from '../common/logger'
import type { SessionRecord } from '../sessions/session-types'
import type { RuntimeKind, WorkerRuntime } from './runtime'
import { runtimeFor, type Unit, unitKey } from './supervisor-units'

export interface LeftoverHost {
  /** Runtimes this server has. */
  kinds: RuntimeKind[]
  defaultRuntime: RuntimeKind
  runtime(kind: RuntimeKind): Promise<WorkerRuntime>
  isTracked(unitKey: string): boolean
  /** Tracks `unit` and restarts the leftover `id` as its worker. */
  adopt(unit: Unit, kind: RuntimeKind, runtime: WorkerRuntime, id: string): Promise<void>
  log: Logger
}

export async function adoptLeftovers(host: LeftoverHost, wanted: Map<string, { unit: Unit; session: SessionRecord }>): Promise<void> {
  const sessions = [...wanted.values()].map((w) => w.session)
  for (const kind of host.kinds) {
    // Only look at runtimes already in use or that would be used; creating docker just to
    // look would fail on machines without it.
    const used = kind === host.defaultRuntime || sessions.some((s) => runtimeFor(s, host.defaultRuntime) === kind)
    if (!used) continue
    let runtime: WorkerRuntime
    try {
      runtime = await host.runtime(kind)
    } catch (err) {
      host.log.error({ err, runtime: kind }, 'worker runtime unavailable')
      continue
    }
    for (const leftover of await runtime.list()) {
      if (!leftover.leftover) continue
      const found = leftover.sessionId ? wanted.get(unitKey(leftover.sessionId, leftover.agentId)) : undefined
      if (found && !host.isTracked(found.unit.key) && runtimeFor(found.session, host.defaultRuntime) === kind) {
        await host.adopt(found.unit, kind, runtime, leftover.id)
      } else {
        host.log.info({ workerId: leftover.id, sessionId: leftover.sessionId, agentId: leftover.agentId }, 'removing orphaned worker')
        await runtime
          .stop(leftover.id, { graceMs: 1_000 })
          .catch((err: unknown) => host.log.warn({ err }, 'could not remove an orphaned worker'))
      }
    }
    if ('removeOrphanVolumes' in runtime && typeof runtime.removeOrphanVolumes === 'function') {
      await (runtime.removeOrphanVolumes as () => Promise<number>)().catch(() => 0)
    }
  }
}
