/**
 * The signed-in person's agent profiles, loaded once they are known to be signed in (nothing is
 * asked without an account: with no identity provider the page is unchanged).
 */
import { useCallback, useEffect, useState } from 'react'
import { listAgents, type AgentProfileView } from './api'

export interface AgentProfilesState {
  loaded: boolean
  agents: AgentProfileView[]
  error: string | null
  reload(): void
}

export function useAgentProfiles(signedIn: boolean): AgentProfilesState {
  const [state, setState] = useState<{ loaded: boolean; agents: AgentProfileView[]; error: string | null }>({ loaded: false, agents: [], error: null })
  const [generation, setGeneration] = useState(0)
  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  // biome-ignore lint/correctness/useExhaustiveDependencies: generation is the reload trigger
  useEffect(() => {
    if (!signedIn) return
    let cancelled = false
    listAgents().then(
      (agents) => !cancelled && setState({ loaded: true, agents, error: null }),
      (err: unknown) => !cancelled && setState((s) => ({ ...s, loaded: true, error: err instanceof Error ? err.message : String(err) })),
    )
    return () => {
      cancelled = true
    }
  }, [signedIn, generation])
  return { ...state, reload }
}
