/**
 * A session's model name from its agent config (`provider` + `model`), e.g. `echo`,
 * `anthropic:claude-haiku-4-5`, `openai:llama3`. One rule for both ends: the worker asks for
 * this model and the gateway serves only this model, so a worker cannot pick a pricier one.
 * Dependency-free so the worker bundle can import it.
 */
export const DEFAULT_MODEL = 'echo'

export function sessionModelName(provider: unknown, model: unknown): string {
  const m = typeof model === 'string' && model ? model : undefined
  const p = typeof provider === 'string' && provider ? provider : undefined
  if (p === 'echo') return m?.startsWith('echo') ? m : 'echo'
  if (!m) return p === undefined ? DEFAULT_MODEL : p
  if (!p || m.includes(':')) return m
  return `${p}:${m}`
}
