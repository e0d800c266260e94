/** Small statistics helpers for the benchmark. */

export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export function median(values: number[]): number {
  const finite = values.filter((v) => !Number.isNaN(v))
  if (finite.length === 0) return Number.NaN
  return percentile(finite, 50)
}

/** A growable list of latencies without per-sample object allocation. */
export class Samples {
  private data = new Float64Array(1024)
  length = 0
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = v
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length)
  }
}

export const now = (): number => performance.now()

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
