/**
 * Picks the provider for a session's model name (server side: this is where the keys are read):
 *   `echo`, `echo:*`                      → EchoProvider (offline test double)
 *   `anthropic:<model>`, `claude-*`       → Anthropic (needs ANTHROPIC_API_KEY)
 *   `openai:<model>`, anything else       → the OpenAI-compatible endpoint at TETHER_OPENAI_BASE_URL
 * Returns the provider, the model name to send to it and the key its price is looked up by.
 */
import { AnthropicProvider } from './anthropic'
import { EchoProvider } from './echo'
import { OpenAiCompatibleProvider } from './openai'
import { ProviderError, type ModelProvider } from './types'

export interface ProviderEnv {
  ANTHROPIC_API_KEY?: string
  ANTHROPIC_BASE_URL?: string
  TETHER_OPENAI_BASE_URL?: string
  TETHER_OPENAI_API_KEY?: string
}

/** The server's provider settings (read from its environment; never passed to workers). */
const PROVIDER_ENV_KEYS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'TETHER_OPENAI_BASE_URL', 'TETHER_OPENAI_API_KEY'] as const

export function providerEnvFrom(env: NodeJS.ProcessEnv): ProviderEnv {
  const out: ProviderEnv = {}
  for (const key of PROVIDER_ENV_KEYS) if (env[key]) out[key] = env[key]
  return out
}

export interface SelectedProvider {
  provider: ModelProvider
  /** The model name as the provider knows it (prefix removed). */
  model: string
}

export function selectProvider(model: string, env: ProviderEnv, fetchImpl?: typeof fetch): SelectedProvider {
  if (model === 'echo' || model.startsWith('echo:')) return { provider: new EchoProvider(), model }
  if (model.startsWith('anthropic:') || model.startsWith('claude')) {
    if (!env.ANTHROPIC_API_KEY) throw new ProviderError(`model ${model} needs ANTHROPIC_API_KEY on the server`)
    return {
      provider: new AnthropicProvider({ apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL, fetch: fetchImpl }),
      model: model.replace(/^anthropic:/, ''),
    }
  }
  if (!env.TETHER_OPENAI_BASE_URL) {
    throw new ProviderError(`model ${model} needs TETHER_OPENAI_BASE_URL (an OpenAI-compatible endpoint) on the server`)
  }
  return {
    provider: new OpenAiCompatibleProvider({ baseUrl: env.TETHER_OPENAI_BASE_URL, apiKey: env.TETHER_OPENAI_API_KEY, fetch: fetchImpl }),
    model: model.replace(/^openai:/, ''),
  }
}
