/**
 * The scenario registry: `npm run bench` runs these in order (or those named by --only).
 *
 * To add a section (e.g. worker start time once src/lib/workers exists), write a module
 * exporting a `Scenario` and append it here. A scenario that measures something other than a
 * streams server sets `servers` to the kinds it applies to (e.g. ['ours-normal']) and may ignore
 * `ctx.server`; the table prints "-" for the other columns.
 */
import { agentCredentialCost } from './agent-credential-cost'
import { authCost } from './auth-cost'
import { catchUp } from './catch-up'
import { claudeSdkStart, opencodeStart } from './adapter-start'
import { compaction } from './compaction'
import { gatewayNative } from './gateway-native'
import { idempotentProducer } from './idempotent-producer'
import { ledgerCost } from './ledger-cost'
import { limitsCost } from './limits-cost'
import { metricsCost } from './metrics-cost'
import { multiAgentStart } from './multi-agent-start'
import { nodeCapacity } from './node-capacity'
import { nodeCapacityPg } from './node-capacity-pg'
import { rss } from './rss'
import { sequential, sequentialApp } from './sequential'
import { sessionPage } from './session-page'
import { sessionWriter } from './session-writer'
import { slowReaders } from './slow-readers'
import { storage } from './storage'
import { sse100, sse1000, sseCrossNode } from './sse-fanout'
import { sse10k } from './sse-10k'
import { terminalOpen } from './terminal-open'
import { tracingCost } from './tracing'
import type { Scenario } from './types'
import { workerDensity } from './worker-density'
import { workerStart } from './workers'
import { workspaceSnapshot } from './workspace-snapshot'
import { writersManyStreams } from './writers-many-streams'
import { writers32 } from './writers32'

export const scenarios: Scenario[] = [
  sequential,
  writers32,
  idempotentProducer,
  catchUp,
  sse100,
  sse1000,
  sseCrossNode,
  rss,
  writersManyStreams,
  workerStart,
  multiAgentStart,
  sessionWriter,
  sequentialApp,
  metricsCost,
  sessionPage,
  terminalOpen,
  compaction,
  slowReaders,
  workspaceSnapshot,
  tracingCost,
  authCost,
  agentCredentialCost,
  limitsCost,
  ledgerCost,
  claudeSdkStart,
  opencodeStart,
  gatewayNative,
  sse10k,
  storage,
  nodeCapacity,
  nodeCapacityPg,
  workerDensity,
]
