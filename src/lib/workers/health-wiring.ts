/**
 * Puts a HeartbeatWatch (health.ts) beside the supervisor: the session callbacks it overrides
 * tell the watch which sessions have workers and when their heartbeats arrive, then call the
 * supervisor's own. Kept out of supervisor.ts, which only starts, restarts and stops workers.
 */
import { silentLogger, type Logger } from '../common/logger'
import type { SessionRecord } from '../sessions/session-types'
import type { WorkersConfig } from '../settings'
import { HeartbeatWatch } from './health'
import type { WorkerSupervisor } from './supervisor'

export function watchHeartbeats(supervisor: WorkerSupervisor, config: Pick<WorkersConfig, 'heartbeatMs' | 'heartbeatMisses'>, logger?: Logger) {
  const watch = new HeartbeatWatch({
    supervisor,
    ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
    ...(config.heartbeatMisses !== undefined ? { misses: config.heartbeatMisses } : {}),
    logger: logger ?? silentLogger,
  })
  watch.start()
  // The supervisor's own methods, bound before Object.assign replaces them on the instance.
  const reconcile = supervisor.reconcile.bind(supervisor)
  const created = supervisor.onSessionCreated.bind(supervisor)
  const resumed = supervisor.onSessionResumed.bind(supervisor)
  const close = supervisor.close.bind(supervisor)
  return {
    heartbeats: watch,
    // agentIds: which agents beat, when the caller tells (each unit is then watched on its own).
    onAgentHeartbeat: (sessionId: string, agentIds?: readonly string[]) => watch.beat(sessionId, agentIds),
    onSessionCreated(session: SessionRecord) {
      created(session)
      watch.watch(session.id)
    },
    onSessionResumed(session: SessionRecord) {
      resumed(session)
      watch.watch(session.id)
    },
    async reconcile(active: SessionRecord[]) {
      await reconcile(active)
      for (const s of active) watch.watch(s.id)
    },
    close() {
      watch.stop()
      return close()
    },
  }
}
