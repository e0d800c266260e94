/**
 * Model prices (USD per million tokens), used twice by the gateway: before a call, to bound what
 * it may cost (the budget check), and after it, to turn the provider's token counts into money
 * when the provider reports no cost itself. Keys are `<provider>:<model>` prefixes (provider:
 * anthropic, openai, echo); the longest matching prefix wins. Operators add or override entries
 * with TETHER_MODEL_PRICES. A model with no price is refused: spending money we cannot count
 * would make budgets meaningless (a free local model gets an explicit price of 0).
 */
import { z } from 'zod'

export interface ModelPrice {
  inputPerMTokUsd: number
  outputPerMTokUsd: number
}

export type PriceTable = ReadonlyMap<string, ModelPrice>

const p = (inputPerMTokUsd: number, outputPerMTokUsd: number): ModelPrice => ({ inputPerMTokUsd, outputPerMTokUsd })

/** Published list prices; `echo` is the offline test double, priced so budgets can be tested. */
export const DEFAULT_PRICES: PriceTable = new Map([
  ['echo:', p(1, 1)],
  ['anthropic:claude-opus-4-5', p(5, 25)],
  ['anthropic:claude-opus-4-1', p(15, 75)],
  ['anthropic:claude-opus-4', p(15, 75)],
  ['anthropic:claude-sonnet-4', p(3, 15)],
  ['anthropic:claude-3-7-sonnet', p(3, 15)],
  ['anthropic:claude-3-5-sonnet', p(3, 15)],
  ['anthropic:claude-haiku-4-5', p(1, 5)],
  ['anthropic:claude-3-5-haiku', p(0.8, 4)],
  ['anthropic:claude-3-haiku', p(0.25, 1.25)],
  ['openai:gpt-4o-mini', p(0.15, 0.6)],
  ['openai:gpt-4o', p(2.5, 10)],
  ['openai:gpt-4.1-mini', p(0.4, 1.6)],
  ['openai:gpt-4.1', p(2, 8)],
])

const priceSchema = z
  .object({ inputPerMTokUsd: z.number().nonnegative().finite(), outputPerMTokUsd: z.number().nonnegative().finite() })
  .strict()
const pricesSchema = z.record(z.string(), priceSchema)
const KEY = /^(anthropic|openai|echo):[^\s]{0,200}$/

/** TETHER_MODEL_PRICES (JSON) over the defaults; throws with the reason when it is malformed. */
export function parseModelPrices(json: string | undefined, defaults: PriceTable = DEFAULT_PRICES): PriceTable {
  const table = new Map(defaults)
  if (json === undefined || json.trim() === '') return table
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new Error('TETHER_MODEL_PRICES: not valid JSON (expected {"<provider:model>": {"inputPerMTokUsd": n, "outputPerMTokUsd": n}})')
  }
  const parsed = pricesSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`TETHER_MODEL_PRICES: ${issue?.path.map(String).join('.') || 'value'}: ${issue?.message ?? 'invalid'}`)
  }
  for (const [key, price] of Object.entries(parsed.data)) {
    if (!KEY.test(key))
      throw new Error(`TETHER_MODEL_PRICES: key ${JSON.stringify(key)}: keys are "<provider>:<model>" (provider: anthropic, openai, echo)`)
    table.set(key, price)
  }
  return table
}

/** The price of `<provider>:<model>` (longest matching prefix), or null when none is known. */
export function priceOf(table: PriceTable, provider: string, model: string): ModelPrice | null {
  const key = `${provider}:${model}`
  let best: [string, ModelPrice] | undefined
  for (const entry of table) if (key.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry
  return best ? best[1] : null
}

export function costUsd(price: ModelPrice, inputTokens: number, outputTokens: number): number {
  // Rounded to a nano-dollar: sums of many small float costs otherwise drift in the ledger.
  return Math.round(((inputTokens * price.inputPerMTokUsd + outputTokens * price.outputPerMTokUsd) / 1_000_000) * 1e9) / 1e9
}

/** A rough token count for text we have not sent yet: 4 characters a token, rounded up. */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4)
