/**
 * The gateway's configuration from the server's environment: provider keys and endpoints
 * (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, TETHER_OPENAI_BASE_URL, TETHER_OPENAI_API_KEY) and
 * price overrides (TETHER_MODEL_PRICES). Read once at start-up, so a malformed price table stops
 * the server with the reason instead of failing the first model call.
 */
import { parseModelPrices, type PriceTable } from './pricing'
import { providerEnvFrom, type ProviderEnv } from './providers'

export interface GatewayConfig {
  providerEnv: ProviderEnv
  prices: PriceTable
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return { providerEnv: providerEnvFrom(env), prices: parseModelPrices(env.TETHER_MODEL_PRICES) }
}
