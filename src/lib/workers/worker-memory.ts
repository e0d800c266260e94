/**
 * How much memory a worker needs beyond the runtime's base limit, from the agent programs it
 * hosts. The base (512 MiB, TETHER_WORKER_MEMORY_MB) is sized for the worker itself, Tether's
 * own agent loop and the shell tool. An external agent program runs beside them in the same
 * container: `opencode serve` (a Bun binary) peaked at ~480 MiB RSS answering one message, so
 * under the base limit the kernel's OOM killer ended it mid-answer ("opencode exited (SIGKILL)");
 * Claude Code (the Claude Agent SDK's program) peaked at ~190 MiB. Each one the worker hosts adds
 * its allowance, so a single-container session with three OpenCode agents gets room for three.
 */
import type { AgentAdapterName } from '../common/session-contract'

const MiB = 1024 * 1024

/** Memory each agent program adds to its worker's limit, over the base. */
export const ADAPTER_MEMORY_BYTES: Readonly<Record<AgentAdapterName, number>> = {
  tether: 0,
  opencode: 1024 * MiB,
  'claude-agent-sdk': 512 * MiB,
}

/** The extra memory for a worker hosting agents with these adapters (unset = Tether's own loop). */
export function extraMemoryFor(adapters: readonly (AgentAdapterName | undefined)[]): number {
  return adapters.reduce((sum, adapter) => sum + ADAPTER_MEMORY_BYTES[adapter ?? 'tether'], 0)
}
