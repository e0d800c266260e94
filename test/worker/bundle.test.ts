/**
 * The worker bundle's start path stays small (issue #13, worker density): no zod (the worker
 * reads the channel schemas' types only, and repeats the one constant it needs), and the
 * external agent programs' adapters are loaded on first use, not when every worker starts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FINAL_TURN_STATUSES as SCHEMA_FINAL } from '../../src/lib/sessions/channel-schemas'
import { bundleWorker } from '../../src/lib/workers/image/bundle'
import { FINAL_TURN_STATUSES } from '../../src/worker/events'

describe('worker bundle', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-bundle-'))
  let code = ''
  beforeAll(async () => {
    code = readFileSync(await bundleWorker({ outfile: join(dir, 'worker.cjs'), force: true }), 'utf8')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('leaves zod out', () => {
    expect(code).not.toContain('ZodError')
    expect(code).not.toMatch(/node_modules\/zod\//)
  })

  it("loads the adapters (and the OpenCode SDK client) only when an agent's adapter needs them", () => {
    // esbuild wraps a dynamically imported module in an init function run on first import().
    expect(code).toMatch(/var init_adapters = __esm\(/)
    expect(code).toContain('(init_adapters(), adapters_exports)')
  })

  it("repeats the schemas' final turn statuses exactly", () => {
    expect([...FINAL_TURN_STATUSES]).toEqual([...SCHEMA_FINAL])
  })
})
