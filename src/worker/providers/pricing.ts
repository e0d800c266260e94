/**
 * Published list prices (USD per million tokens) used to turn a provider's own token counts into
 * cost when the provider does not report a cost itself. Longest matching prefix wins; an unknown
 * model costs 0 (e.g. a local model behind an OpenAI-compatible endpoint).
 */
const PRICES: Array<[prefix: string, input: number, output: number]> = [
  ['claude-opus-4-5', 5, 25],
  ['claude-opus-4-1', 15, 75],
  ['claude-opus-4', 15, 75],
  ['claude-sonnet-4', 3, 15],
  ['claude-3-7-sonnet', 3, 15],
  ['claude-3-5-sonnet', 3, 15],
  ['claude-haiku-4-5', 1, 5],
  ['claude-3-5-haiku', 0.8, 4],
  ['claude-3-haiku', 0.25, 1.25],
  ['gpt-4o-mini', 0.15, 0.6],
  ['gpt-4o', 2.5, 10],
  ['gpt-4.1-mini', 0.4, 1.6],
  ['gpt-4.1', 2, 8],
]

export function listPriceUsd(model: string, inputTokens: number, outputTokens: number): number {
  let best: [string, number, number] | undefined
  for (const entry of PRICES) if (model.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry
  if (!best) return 0
  return (inputTokens * best[1] + outputTokens * best[2]) / 1_000_000
}
