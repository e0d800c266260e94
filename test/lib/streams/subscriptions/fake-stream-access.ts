/**
 * In-memory stand-in for the stream store, ONLY for unit tests of the subscription engine's
 * cursor/lease/generation logic. End-to-end tests use the real SQLite-backed server.
 */
import type { StreamAccess, StreamLifecycleListener } from '../../../../src/lib/streams/seams'

const pad = (n: number) => String(n).padStart(16, '0')
export const offsetAt = (seq: number) => `${pad(seq)}_${pad(seq * 10)}`

export class FakeStreamAccess implements StreamAccess {
  readonly streams = new Map<string, { seq: number; closed: boolean; contentType: string; messages: string[] }>()
  listener: StreamLifecycleListener | null = null

  describe(path: string) {
    const s = this.streams.get(path)
    return s ? { tailOffset: offsetAt(s.seq), closed: s.closed, contentType: s.contentType } : null
  }

  listPaths(): string[] {
    return [...this.streams.keys()]
  }

  async append(path: string, body: Uint8Array): Promise<{ tailOffset: string }> {
    return { tailOffset: this.write(path, new TextDecoder().decode(body)) }
  }

  create(path: string, contentType = 'application/json', firstMessage?: string): void {
    this.streams.set(path, { seq: 0, closed: false, contentType, messages: [] })
    this.listener?.onCreated?.(path, offsetAt(0))
    if (firstMessage !== undefined) this.write(path, firstMessage)
  }

  write(path: string, message: string): string {
    const s = this.streams.get(path)
    if (!s) throw new Error(`no stream ${path}`)
    s.seq += 1
    s.messages.push(message)
    const tail = offsetAt(s.seq)
    this.listener?.onAppended?.(path, tail)
    return tail
  }

  remove(path: string): void {
    this.streams.delete(path)
    this.listener?.onDeleted?.(path)
  }
}
