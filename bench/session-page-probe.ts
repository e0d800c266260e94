/**
 * What the session-page benchmark measures inside chromium. PROBE is installed before any page
 * script runs (addInitScript): a 'longtask' PerformanceObserver and a requestAnimationFrame loop
 * that records frame gaps and when the first message and a chosen message were first painted.
 * Times are performance.now() of the page (0 = navigation start).
 */
export interface ProbeState {
  longTasks: Array<{ start: number; duration: number }>
  frames: number[]
  firstMessageAt?: number
  targetAt?: number
  target?: string
  /** when the composer was first enabled with the target message shown */
  readyAt?: number
  /** streaming: token index → Date.now() it was first seen in the DOM */
  seen: Record<number, number>
  watch?: string
}

declare global {
  interface Window {
    __probe: ProbeState
  }
}

/** Runs in the page (serialised by playwright): keep it self-contained. */
export function installProbe(): void {
  const probe: ProbeState = { longTasks: [], frames: [], seen: {} }
  window.__probe = probe
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.longTasks.push({ start: e.startTime, duration: e.duration })
    }).observe({ type: 'longtask', buffered: true })
  } catch {
    // no longtask support: frames still tell
  }
  let maxSeen = -1
  const frame = (t: number) => {
    probe.frames.push(t)
    if (probe.firstMessageAt === undefined && document.querySelector('[data-testid="message"]')) probe.firstMessageAt = t
    if (probe.target && probe.targetAt === undefined && document.querySelector(`[data-message-id="${probe.target}"]`)) probe.targetAt = t
    if (probe.targetAt !== undefined && probe.readyAt === undefined) {
      const box = document.querySelector('[data-testid="composer"]') as HTMLTextAreaElement | null
      if (box && !box.disabled) probe.readyAt = t
    }
    if (probe.watch) {
      // Token i of the streamed message ends with "w<i>": the newest shown tells which are in the DOM.
      const text = document.querySelector(`[data-message-id="${probe.watch}"] [data-testid="message-text"]`)?.textContent ?? ''
      const m = /w(\d+)\s*$/.exec(text)
      const newest = m ? Number(m[1]) : -1
      const at = Date.now()
      for (let i = maxSeen + 1; i <= newest; i++) probe.seen[i] = at
      if (newest > maxSeen) maxSeen = newest
    }
    requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
}

/** Longest gap between frames, and how many gaps were longer than two 60 Hz frames, within [from, to]. */
export function frameStats(frames: number[], from: number, to: number): { dropped: number; longestGap: number; count: number } {
  let dropped = 0
  let longestGap = 0
  let count = 0
  for (let i = 1; i < frames.length; i++) {
    if (frames[i] < from || frames[i] > to) continue
    count++
    const gap = frames[i] - frames[i - 1]
    if (gap > 2 * 16.7) dropped++
    if (gap > longestGap) longestGap = gap
  }
  return { dropped, longestGap, count }
}
