/** Kafka-style idempotent producer validation (PROTOCOL §5.2.1). */

export type ProducerVerdict =
  | { kind: 'accept' }
  | { kind: 'duplicate'; lastSeq: number }
  | { kind: 'stale'; currentEpoch: number }
  | { kind: 'epoch_needs_seq0' }
  | { kind: 'gap'; expected: number }

export function judgeProducer(state: { epoch: number; lastSeq: number } | undefined, epoch: number, seq: number): ProducerVerdict {
  if (!state) return seq === 0 ? { kind: 'accept' } : { kind: 'gap', expected: 0 }
  if (epoch < state.epoch) return { kind: 'stale', currentEpoch: state.epoch }
  if (epoch > state.epoch) return seq === 0 ? { kind: 'accept' } : { kind: 'epoch_needs_seq0' }
  if (seq <= state.lastSeq) return { kind: 'duplicate', lastSeq: state.lastSeq }
  if (seq === state.lastSeq + 1) return { kind: 'accept' }
  return { kind: 'gap', expected: state.lastSeq + 1 }
}
