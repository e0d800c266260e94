import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/lib/common/logger'
import { WriteQueue } from '../../../src/lib/streams/write-queue'
import { ProtocolError } from '../../../src/lib/streams/errors'

function setup() {
  const sqlite = new Database(':memory:')
  sqlite.exec('CREATE TABLE t (v INTEGER)')
  let commits = 0
  const queue = new WriteQueue(sqlite, silentLogger, () => commits++)
  const insert = sqlite.prepare('INSERT INTO t (v) VALUES (?)')
  const values = () => sqlite.prepare('SELECT v FROM t ORDER BY v').pluck().all()
  return { sqlite, queue, insert, values, commits: () => commits }
}

describe('group commit write queue', () => {
  it('runs operations queued in the same tick in one transaction', async () => {
    const { queue, insert, values, commits, sqlite } = setup()
    const inTx: boolean[] = []
    const results = await Promise.all(
      [1, 2, 3].map((v) =>
        queue.enqueue(() => {
          inTx.push(sqlite.inTransaction)
          insert.run(v)
          return v * 10
        }),
      ),
    )
    expect(results).toEqual([10, 20, 30])
    expect(inTx).toEqual([true, true, true])
    expect(commits()).toBe(1)
    expect(values()).toEqual([1, 2, 3])
  })

  it('settles nothing before the commit and runs after-commit hooks only for successful operations', async () => {
    const { queue, insert, values } = setup()
    const seen: string[] = []
    const ok = queue.enqueue(() => {
      insert.run(1)
      queue.afterCommit(() => seen.push(`hook sees ${values().join(',')}`))
    })
    const refused = queue.enqueue(() => {
      insert.run(2)
      queue.afterCommit(() => seen.push('must not run'))
      throw new ProtocolError(409, 'NOPE', 'refused')
    })
    await expect(refused).rejects.toThrow('refused')
    await ok
    // The refused operation rolled back alone (its savepoint), its hook never ran.
    expect(values()).toEqual([1])
    expect(seen).toEqual(['hook sees 1'])
  })

  it('rolls back a refused operation that is alone in its batch (no savepoint) and keeps serving', async () => {
    const { queue, insert, values, commits, sqlite } = setup()
    const seen: string[] = []
    const refused = queue.enqueue(() => {
      insert.run(7)
      queue.afterCommit(() => seen.push('must not run'))
      throw new ProtocolError(404, 'NOPE', 'refused alone')
    })
    await expect(refused).rejects.toThrow('refused alone')
    expect(values()).toEqual([])
    expect(sqlite.inTransaction).toBe(false)
    // Settled like a batch whose savepoint rolled back: observers still see one operation.
    expect(commits()).toBe(1)
    const broken = queue.enqueue(() => {
      insert.run(8)
      sqlite.prepare('INSERT INTO missing_table VALUES (1)').run()
    })
    await expect(broken).rejects.toThrow(/no such table/)
    await queue.enqueue(() => {
      insert.run(9)
      queue.afterCommit(() => seen.push(`hook sees ${values().join(',')}`))
    })
    expect(values()).toEqual([9])
    expect(seen).toEqual(['hook sees 9'])
  })

  it('runs appends that refuse before writing without savepoints: a refusal fails alone', async () => {
    const { queue, insert, values, commits } = setup()
    const asAppend = { refusesBeforeWriting: true }
    const ok1 = queue.enqueue(() => insert.run(1), asAppend)
    const refused = queue.enqueue(() => {
      throw new ProtocolError(409, 'NOPE', 'refused before writing')
    }, asAppend)
    const ok2 = queue.enqueue(() => insert.run(3), asAppend)
    await expect(refused).rejects.toThrow('refused before writing')
    await Promise.all([ok1, ok2])
    expect(values()).toEqual([1, 3])
    expect(commits()).toBe(1)
    // No savepoint around them: an operation that broke the contract (wrote, then refused) would
    // keep its write, which is why only StreamWriter.append, which refuses first, opts in.
    const breaker = queue.enqueue(() => {
      insert.run(5)
      throw new ProtocolError(409, 'NOPE', 'refused after writing')
    }, asAppend)
    const neighbour = queue.enqueue(() => insert.run(6), asAppend)
    await expect(breaker).rejects.toThrow('refused after writing')
    await neighbour
    expect(values()).toEqual([1, 3, 5, 6])
  })

  it('rolls the whole batch back when an append fails after writing, and keeps serving', async () => {
    const { sqlite, queue, insert, values } = setup()
    let rolledBack = 0
    const observed = new WriteQueue(
      sqlite,
      silentLogger,
      () => {},
      () => rolledBack++,
    )
    const seen: string[] = []
    const asAppend = { refusesBeforeWriting: true }
    const first = observed.enqueue(() => {
      insert.run(1)
      observed.afterCommit(() => seen.push('must not run'))
    }, asAppend)
    const broken = observed.enqueue(() => {
      insert.run(2)
      sqlite.prepare('INSERT INTO missing_table VALUES (1)').run()
    }, asAppend)
    const withSavepoint = observed.enqueue(() => insert.run(3))
    await expect(broken).rejects.toThrow(/no such table/)
    // Its partial write (2) could not be undone alone: nothing of the batch is kept or acknowledged.
    await expect(first).rejects.toThrow(/no such table/)
    await expect(withSavepoint).rejects.toThrow(/no such table/)
    expect(values()).toEqual([])
    expect(seen).toEqual([])
    expect(rolledBack).toBe(1)
    expect(sqlite.inTransaction).toBe(false)
    await queue.enqueue(() => insert.run(4), asAppend)
    expect(values()).toEqual([4])
  })

  it('starts a new batch for work queued after a flush', async () => {
    const { queue, insert, commits } = setup()
    await queue.enqueue(() => insert.run(1))
    await queue.enqueue(() => insert.run(2))
    expect(commits()).toBe(2)
  })
})
