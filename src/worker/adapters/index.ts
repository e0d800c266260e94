/**
 * The agent programs this worker can run besides Tether's own loop (issue #11), by adapter name.
 * An agent whose adapter is missing here fails its turns with a reason instead of falling back.
 */
import type { AgentAdapterName } from '../../lib/common/session-contract'
import { createClaudeAgentSdkAdapter } from './claude-agent-sdk'
import { createOpencodeAdapter } from './opencode'
import type { AdapterFactory } from './types'

export const adapterFactories: Partial<Record<Exclude<AgentAdapterName, 'tether'>, AdapterFactory>> = {
  'claude-agent-sdk': createClaudeAgentSdkAdapter,
  opencode: createOpencodeAdapter,
}
