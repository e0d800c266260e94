/**
 * Stands in for the worker's shell where a test needs terminal output before the real worker
 * runs in the test server: it reads the session stream like a worker does and answers each new
 * command line with what bash would print for `echo …` (prompt, echo of the command, output),
 * publishing with a worker token through the real event writer.
 */
import { readStream, writeEvents, type TestServer } from './support'

export class FakeShell {
  private answered = new Set<string>()
  private timer: ReturnType<typeof setInterval> | undefined
  private busy = false

  constructor(
    private readonly server: TestServer,
    private readonly workerToken: string,
    private readonly sessionId: string,
    private readonly agentId: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 150)
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async poll(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const events = await readStream(this.server, this.workerToken, this.sessionId)
      for (const e of events) {
        const v = e.value
        if (e.type !== 'terminal' || !v || v.kind !== 'input' || typeof v.data !== 'string' || this.answered.has(e.key)) continue
        this.answered.add(e.key)
        const command = v.data.replace(/[\r\n]+$/, '')
        const result = command.startsWith('echo ') ? command.slice(5) : `bash: ${command.split(' ')[0]}: command not found`
        await writeEvents(this.server, this.workerToken, this.sessionId, {
          channel: 'terminal',
          data: { id: `${e.key}:o0`, kind: 'output', source: this.agentId, stream: 'stdout', commandId: e.key, data: `${command}\r\n\x1b[32m${result}\x1b[0m\r\n$ ` },
        })
      }
    } catch {
      // server restarting: next poll
    } finally {
      this.busy = false
    }
  }
}
