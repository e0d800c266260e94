/** The contract every benchmark scenario implements (see index.ts for the registry). */
import type { RunningServer, ServerKind } from '../servers'

export interface Target {
  op: '>=' | '<=' | '<'
  value: number
  /** How the target reads in the table, when not `op value`. */
  text?: string
}

/** A target for our PostgreSQL engine as a ratio to another server in the same run (issue 14 bar 4). */
export interface RatioTarget {
  of: ServerKind
  min: number
  text: string
}

export interface Metric {
  key: string
  label: string
  unit: string
  /** Which direction is better; ratios in the table are always ours ÷ reference. */
  better: 'higher' | 'lower'
  target?: Target
  /** Decimal places when printed. */
  digits?: number
  /** Issue 14's target for `ours-postgres` (its own "met postgres" column). */
  pgTarget?: Target | RatioTarget
}

export interface ScenarioContext {
  server: RunningServer
  kind: ServerKind
  quick: boolean
  log(message: string): void
}

/** Metric values of one run, by metric key. NaN = not measured / failed. */
export type MetricValues = Record<string, number>

export interface Scenario {
  id: string
  title: string
  metrics: Metric[]
  /** Runs per server; the table shows the median. Expensive scenarios run once. */
  repeats: number
  /** Server kinds this scenario runs against (default: every streams server). */
  servers?: ServerKind[]
  run(ctx: ScenarioContext): Promise<MetricValues>
}
