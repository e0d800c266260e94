/**
 * JSON mode (PROTOCOL §9.1). An append is stored as ONE row holding its flattened messages as
 * comma-separated JSON text, e.g. POST `[{"a":1}, {"b":2}]` stores `{"a":1}, {"b":2}` with
 * count 2. The text between the outer brackets is reused as is (no re-serialisation); a read
 * joins rows with `,` inside `[` `]`, which is valid JSON because each row is a valid list.
 */

const utf8 = new TextDecoder('utf-8', { fatal: true })

export type FlattenResult = { ok: true; text: Buffer; count: number } | { ok: false; reason: string }

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/** Validates a JSON append body and flattens one level of array. `count` 0 means `[]`. */
export function flattenJsonBody(body: Uint8Array): FlattenResult {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    return { ok: false, reason: 'Invalid JSON: body is not valid UTF-8' }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { ok: false, reason: `Invalid JSON: ${(err as Error).message}` }
  }
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  let start = 0
  let end = bytes.length
  while (start < end && isJsonWhitespace(bytes[start]!)) start++
  while (end > start && isJsonWhitespace(bytes[end - 1]!)) end--
  if (!Array.isArray(value)) return { ok: true, text: bytes.subarray(start, end), count: 1 }
  if (value.length === 0) return { ok: true, text: Buffer.alloc(0), count: 0 }
  // Parsed as an array, so bytes[start] is '[' and bytes[end-1] is ']'.
  start++
  end--
  while (start < end && isJsonWhitespace(bytes[start]!)) start++
  while (end > start && isJsonWhitespace(bytes[end - 1]!)) end--
  return { ok: true, text: bytes.subarray(start, end), count: value.length }
}

const OPEN = Buffer.from('[')
const CLOSE = Buffer.from(']')
const COMMA = Buffer.from(',')
export const EMPTY_JSON_ARRAY = Buffer.from('[]')

/** Frames stored JSON rows as one JSON array. */
export function frameJsonRows(rows: readonly Uint8Array[]): Buffer {
  if (rows.length === 0) return EMPTY_JSON_ARRAY
  const parts: Uint8Array[] = [OPEN]
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) parts.push(COMMA)
    parts.push(rows[i]!)
  }
  parts.push(CLOSE)
  return Buffer.concat(parts)
}

/** The bytes of the first `n` messages of a stored JSON row (for sub-offset forks). */
export function takeJsonMessages(row: Uint8Array, n: number): Buffer {
  const values = JSON.parse(`[${Buffer.from(row).toString('utf8')}]`) as unknown[]
  return Buffer.from(
    values
      .slice(0, n)
      .map((v) => JSON.stringify(v))
      .join(','),
  )
}
