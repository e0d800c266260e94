/**
 * A time-series chart drawn by uPlot on a canvas, in the browser only (the server renders an
 * empty, sized box: no chart markup, no inline script). Colours come from the theme's CSS
 * variables when the chart is drawn, and it is drawn again when the theme changes, so both themes
 * read well. Width follows the container (phones included).
 */
import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import { useTheme } from '../theme'

export interface ChartSeries {
  label: string
  /** A CSS variable of styles.css, e.g. `--accent`. */
  colorVar: string
  values: number[]
  /** Second y axis (right), e.g. dollars beside counts. */
  right?: boolean
  /** Drawn as bars instead of a line. */
  bars?: boolean
  format?: (v: number) => string
}

const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'

export function TimeChart({ title, times, series, height = 220, testId }: { title: string; times: number[]; series: ChartSeries[]; height?: number; testId?: string }) {
  const box = useRef<HTMLDivElement>(null)
  const theme = useTheme()

  // biome-ignore lint/correctness/useExhaustiveDependencies: theme is a dependency on purpose: the colours are read from CSS when drawing
  useEffect(() => {
    const el = box.current
    if (!el) return
    const text = cssVar('--text-muted')
    const grid = cssVar('--border')
    const bars = uPlot.paths.bars?.({ size: [0.6, 40] })
    const axis = (scale: string, side: 1 | 3, fmt?: (v: number) => string): uPlot.Axis => ({
      scale,
      side,
      stroke: text,
      grid: { stroke: grid, width: 1, show: side === 3 },
      ticks: { stroke: grid, width: 1 },
      size: 56,
      ...(fmt ? { values: (_u: uPlot, splits: number[]) => splits.map(fmt) } : {}),
    })
    const rightFmt = series.find((s) => s.right)?.format
    const leftFmt = series.find((s) => !s.right)?.format
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      // Times in ms, shown in the viewer's time zone.
      ms: 1,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] }, r: { range: (_u, _min, max) => [0, max > 0 ? max : 1] } },
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
        axis('y', 3, leftFmt),
        ...(series.some((s) => s.right) ? [axis('r', 1, rightFmt)] : []),
      ],
      series: [
        {},
        ...series.map((s): uPlot.Series => {
          const color = cssVar(s.colorVar)
          return {
            label: s.label,
            scale: s.right ? 'r' : 'y',
            stroke: color,
            width: 2,
            ...(s.bars && bars ? { paths: bars, fill: `${color}99` } : {}),
            points: { show: times.length < 60 },
            ...(s.format ? { value: (_u: uPlot, v: number | null) => (v === null ? '–' : (s.format as (n: number) => string)(v)) } : {}),
          }
        }),
      ],
    }
    const data: uPlot.AlignedData = [times, ...series.map((s) => s.values)]
    const plot = new uPlot(opts, data, el)
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }))
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [times, series, height, theme])

  return (
    <figure className="stats-chart card" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="stats-chart-canvas" style={{ minHeight: height }} />
    </figure>
  )
}
