/**
 * Incremental messages: keeps chunk and tool-call rows grouped by message as collection change
 * events arrive, and re-derives only the messages those changes touched. A streaming token then
 * costs one message's re-derivation instead of regrouping every chunk of a 10,000-message session,
 * and every untouched message keeps its object identity, so memoised views skip it.
 * `messages()` equals deriveMessages(all rows) after any sequence of changes (a seeded random test
 * checks it: test/lib/sessions/client/incremental-derive.test.ts).
 */
import type { Chunk, ToolCall } from '../channel-schemas'
import { compareMessages, deriveMessage, type Message, type RowMeta } from './derive'

/** A collection change as TanStack DB reports it (subscribeChanges). */
export interface RowChange<T> {
  type: 'insert' | 'update' | 'delete'
  key: string | number
  value: T
}

/** Rows of one kind grouped by the message they name, with the owner of each row key. */
class Groups<T extends { messageId: string }> {
  readonly byMessage = new Map<string, Map<string, T>>()
  private readonly owner = new Map<string, string>()

  /** Applies changes; adds every message whose rows changed to `touched`. */
  apply(changes: Iterable<RowChange<T>>, touched: Set<string>): void {
    for (const change of changes) {
      const key = String(change.key)
      const before = this.owner.get(key)
      if (before !== undefined) {
        this.byMessage.get(before)?.delete(key)
        if (this.byMessage.get(before)?.size === 0) this.byMessage.delete(before)
        this.owner.delete(key)
        touched.add(before)
      }
      if (change.type === 'delete') continue
      const messageId = change.value.messageId
      let rows = this.byMessage.get(messageId)
      if (!rows) {
        rows = new Map()
        this.byMessage.set(messageId, rows)
      }
      rows.set(key, change.value)
      this.owner.set(key, messageId)
      touched.add(messageId)
    }
  }

  rowsOf(messageId: string): Iterable<T> {
    return this.byMessage.get(messageId)?.values() ?? []
  }
}

export class MessageIndex {
  private readonly chunks = new Groups<Chunk & RowMeta>()
  private readonly calls = new Groups<ToolCall & RowMeta>()
  private readonly built = new Map<string, Message>()
  private readonly dirty = new Set<string>()
  private list: Message[] = []
  private readonly position = new Map<string, number>()

  applyChunks(changes: Iterable<RowChange<Chunk & RowMeta>>): void {
    this.chunks.apply(changes, this.dirty)
  }

  applyToolCalls(changes: Iterable<RowChange<ToolCall & RowMeta>>): void {
    this.calls.apply(changes, this.dirty)
  }

  /** The collections hold rows of this message (the live copy wins over an older page's). */
  has(messageId: string): boolean {
    return this.chunks.byMessage.has(messageId) || this.calls.byMessage.has(messageId)
  }

  /** True when messages() would return a new list. */
  get changed(): boolean {
    return this.dirty.size > 0
  }

  /** The messages in order; the same array (and message objects) until a change touches them. */
  messages(): Message[] {
    if (this.dirty.size === 0) return this.list
    let reorder = false
    const replaced: Message[] = []
    const appended: Message[] = []
    for (const id of this.dirty) {
      const next = deriveMessage(id, this.chunks.rowsOf(id), this.calls.rowsOf(id))
      const before = this.built.get(id)
      if (!next) {
        if (before) {
          this.built.delete(id)
          reorder = true
        }
        continue
      }
      this.built.set(id, next)
      if (!before) appended.push(next)
      else if (before.order !== next.order || before.startedAt !== next.startedAt || !this.position.has(id)) reorder = true
      else replaced.push(next)
    }
    this.dirty.clear()
    if (!reorder && appended.length > 0) {
      // The usual new message starts after every other one: append it rather than re-sort all.
      appended.sort(compareMessages)
      const last = this.list[this.list.length - 1]
      if (last !== undefined && compareMessages(last, appended[0]) >= 0) reorder = true
    }
    if (reorder) {
      this.list = [...this.built.values()].sort(compareMessages)
      this.position.clear()
      for (const [i, m] of this.list.entries()) this.position.set(m.id, i)
      return this.list
    }
    const list = this.list.slice()
    for (const m of replaced) list[this.position.get(m.id) as number] = m
    for (const m of appended) {
      this.position.set(m.id, list.length)
      list.push(m)
    }
    this.list = list
    return list
  }
}
