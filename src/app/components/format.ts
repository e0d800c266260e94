export function formatUsd(value: number): string {
  if (value === 0) return '$0.00'
  if (value < 0.01) return `$${Number(value.toPrecision(2))}`
  return `$${value.toFixed(2)}`
}

export function formatCount(value: number): string {
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`
  if (value >= 10_000) return `${Math.round(value / 1000)}k`
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`
  return String(value)
}

export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60 ? `${s % 60}s` : ''}`.trim()
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60 ? `${m % 60}m` : ''}`.trim()
  return `${Math.floor(h / 24)}d`
}

export function timeAgo(at: number, now = Date.now()): string {
  const d = now - at
  if (d < 45_000) return 'just now'
  if (d < 3_600_000) return `${Math.round(d / 60_000)}m ago`
  if (d < 86_400_000) return `${Math.round(d / 3_600_000)}h ago`
  return `${Math.round(d / 86_400_000)}d ago`
}

let clockFormat: Intl.DateTimeFormat | undefined

/**
 * Hours and minutes in the reader's locale, as `toLocaleTimeString([], {hour, minute})` gives them,
 * from one shared formatter: toLocaleTimeString builds a new formatter per call, which made the
 * conversation's timestamps the costliest part of rendering a message (session-page profile).
 */
export function clockTime(at: number): string {
  clockFormat ??= new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' })
  return clockFormat.format(at)
}
