/**
 * The largest producer epoch each agent's earlier runs used, read from their upserts' event ids
 * (`agent:<agentId>:<epoch>:<n>`, publisher.ts). A run under a session lease (issue 14) has an
 * epoch from 2^44 and stamps events with the clock, so its epoch is not in the timestamps: a later
 * run without a lease (the cluster went back to one node) must still claim a larger one.
 */
const OWN_UPSERT = /^agent:([^:]+):(\d+):/

export class OwnEpochs {
  private readonly max = new Map<string, number>()

  note(eventId: unknown): void {
    const m = typeof eventId === 'string' ? OWN_UPSERT.exec(eventId) : null
    if (!m) return
    const epoch = Number(m[2])
    if (Number.isSafeInteger(epoch) && epoch > (this.max.get(m[1]!) ?? 0)) this.max.set(m[1]!, epoch)
  }

  of(agentId: string): number {
    return this.max.get(agentId) ?? 0
  }
}
