import { describe, expect, it } from 'vitest'
import { flattenJsonBody, frameJsonRows, takeJsonMessages } from '../../../src/lib/streams/json-framing'

const enc = (s: string) => new TextEncoder().encode(s)
function flat(s: string) {
  const r = flattenJsonBody(enc(s))
  if (!r.ok) throw new Error(r.reason)
  return { text: r.text.toString('utf8'), count: r.count }
}

describe('JSON mode framing', () => {
  it('stores a single value as one message', () => {
    expect(flat(' {"a":1} \n')).toEqual({ text: '{"a":1}', count: 1 })
  })

  it('flattens exactly one level of array, keeping the element text', () => {
    expect(flat('[ {"a":1}, {"b":2} ]')).toEqual({ text: '{"a":1}, {"b":2}', count: 2 })
    expect(flat('[[1,2],[3,4]]')).toEqual({ text: '[1,2],[3,4]', count: 2 })
    expect(flat('[[[1,2,3]]]')).toEqual({ text: '[[1,2,3]]', count: 1 })
  })

  it('reports an empty array as zero messages', () => {
    expect(flat('[ ]')).toEqual({ text: '', count: 0 })
  })

  it('rejects invalid JSON and invalid UTF-8 with a reason', () => {
    const bad = flattenJsonBody(enc('{"a":'))
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.reason).toMatch(/Invalid JSON/)
    expect(flattenJsonBody(new Uint8Array([0x22, 0xff, 0x22])).ok).toBe(false)
  })

  it('frames stored rows as one parseable array', () => {
    const rows = [flat('[{"a":1},{"b":2}]').text, flat('"x"').text].map((t) => Buffer.from(t))
    expect(JSON.parse(frameJsonRows(rows).toString())).toEqual([{ a: 1 }, { b: 2 }, 'x'])
    expect(frameJsonRows([]).toString()).toBe('[]')
  })

  it('takes the first n messages of a stored row', () => {
    const row = Buffer.from(flat('[{"a":1},{"b":2},{"c":3}]').text)
    expect(JSON.parse(`[${takeJsonMessages(row, 2).toString()}]`)).toEqual([{ a: 1 }, { b: 2 }])
  })
})
