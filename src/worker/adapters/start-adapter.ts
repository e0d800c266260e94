/**
 * Makes the adapter for an agent whose config names an external program (issue #11), with what
 * every such program gets: a model proxy of its own (credential-free loopback URLs; the proxy adds
 * this agent's worker token on the way to the gateway, so the program and its tools never hold it)
 * and the worker's sandbox to spawn it as the sandbox user.
 *
 * bwrap (the process runtime's default sandbox) gives a program no network at all, so it could not
 * reach the proxy; there external programs are refused with the reason, which the turn's `failed`
 * record carries. They run in the docker runtime, or unsandboxed (TETHER_SANDBOX=off) for local work.
 */
import type { AgentAdapterName } from '../../lib/common/session-contract'
import type { TurnRequestId } from '../request-id'
import { workerSandbox } from '../sandbox'
import type { AgentRunConfig } from '../session-config'
import type { AgentAdapter } from './types'

export interface ExternalAdapterOptions {
  adapter: Exclude<AgentAdapterName, 'tether'>
  agentId: string
  sessionId: string
  serverUrl: string
  /** This agent's worker token: handed to the proxy only. */
  token: string
  requestId: TurnRequestId
  workDir: string
  run: AgentRunConfig
}

export async function createExternalAdapter(o: ExternalAdapterOptions): Promise<AgentAdapter> {
  // Loaded on first use: most workers run Tether's own loop, and the adapters (the OpenCode SDK
  // client among them) and the proxy's node:http would be heap every idle worker carries.
  const [{ adapterFactories }, { startModelProxy }] = await Promise.all([import('./index'), import('../model-proxy')])
  const factory = adapterFactories[o.adapter]
  if (!factory) throw new Error(`the ${o.adapter} adapter is not available in this worker`)
  const sandbox = workerSandbox()
  if (sandbox.mode.kind === 'bwrap') {
    throw new Error(`the ${o.adapter} adapter needs the docker runtime (or TETHER_SANDBOX=off for local development)`)
  }
  const proxy = await startModelProxy({ serverUrl: o.serverUrl, sessionId: o.sessionId, token: o.token, requestId: o.requestId })
  const inner = factory({
    agentId: o.agentId,
    sessionId: o.sessionId,
    workDir: o.workDir,
    model: o.run.model,
    tools: o.run.tools,
    ...(o.run.system ? { system: o.run.system } : {}),
    modelProxy: { anthropic: proxy.anthropic, openai: proxy.openai },
    sandbox,
  })
  return {
    name: inner.name,
    start: () => inner.start(),
    runTurn: (turn, sink) => inner.runTurn(turn, sink),
    close: async () => {
      try {
        await inner.close()
      } finally {
        await proxy.close()
      }
    },
  }
}
