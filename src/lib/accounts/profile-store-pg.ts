/**
 * Agent profiles in PostgreSQL (issue #14): the ProfileStore of profile-store.ts on drizzle's
 * postgres-js dialect and the schema-pg table, with the same sealing (the row builders and the
 * cipher calls are profile-store.ts's). Every answer but credentialOf is a promise. The
 * per-person cap is counted and the insert made in one transaction holding a per-person advisory
 * lock, so two nodes cannot both pass it.
 */
import { and, asc, eq, sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { agentProfiles } from '../db/schema-pg/agent-profiles'
import type { AgentProfileRow } from '../db/schema/agent-profiles'
import type { UpdateProfileInput } from './agent-profile-types'
import type { CredentialCipher } from './credential-cipher'
import { newProfileRow, openCredential, profileUpdateColumns, type NewProfile, type ProfileStore } from './profile-store'

export class PgProfileStore implements ProfileStore {
  constructor(
    private readonly db: PostgresJsDatabase,
    private readonly cipher: CredentialCipher,
    private readonly now: () => number,
  ) {}

  async list(userId: string | null): Promise<AgentProfileRow[]> {
    const q = this.db.select().from(agentProfiles)
    return (userId === null ? q : q.where(eq(agentProfiles.userId, userId))).orderBy(asc(agentProfiles.createdAt), asc(agentProfiles.id))
  }

  async get(id: string): Promise<AgentProfileRow | null> {
    const [row] = await this.db.select().from(agentProfiles).where(eq(agentProfiles.id, id))
    return row ?? null
  }

  async insert(userId: string, p: NewProfile, maxPerUser: number): Promise<AgentProfileRow | null> {
    const row = newProfileRow(this.cipher, userId, p, this.now())
    return this.db.transaction(async (tx) => {
      // A person may have no users row (tokens name people too): lock on their id instead.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`agent-profiles:${userId}`}, 0))`)
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(agentProfiles).where(eq(agentProfiles.userId, userId))
      if (n >= maxPerUser) return null
      const [made] = await tx.insert(agentProfiles).values(row).returning()
      return made ?? null
    })
  }

  async update(id: string, u: UpdateProfileInput): Promise<AgentProfileRow | null> {
    const [row] = await this.db.update(agentProfiles).set(profileUpdateColumns(this.cipher, id, u, this.now())).where(eq(agentProfiles.id, id)).returning()
    return row ?? null
  }

  async remove(id: string, userId: string | null): Promise<boolean> {
    const where = userId === null ? eq(agentProfiles.id, id) : and(eq(agentProfiles.id, id), eq(agentProfiles.userId, userId))
    const gone = await this.db.delete(agentProfiles).where(where).returning({ id: agentProfiles.id })
    return gone.length > 0
  }

  credentialOf(row: AgentProfileRow): string | null {
    return openCredential(this.cipher, row)
  }
}
