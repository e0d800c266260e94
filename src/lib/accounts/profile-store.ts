/**
 * Agent profiles in SQLite (schema: src/lib/db/schema/agent-profiles.ts). The credential goes in
 * sealed (credential-cipher.ts) and comes out only through `credentialOf`, which the model
 * gateway's providerEnvFor is the one caller of; `view` is the only shape that leaves this module
 * for an API answer, and it has no credential field. `ProfileStore` is what callers use: this
 * SQLite one answers values, the PostgreSQL one (profile-store-pg.ts) promises.
 */
import { and, asc, eq, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { agentProfiles, type AgentProfileRow } from '../db/schema/agent-profiles'
import type { AgentAdapterName } from '../common/session-contract'
import type { AgentProfileView, UpdateProfileInput } from './agent-profile-types'
import type { CredentialCipher } from './credential-cipher'
import { newId } from './account-store'
import type { MaybePromise } from '../streams/engine'

/** Profiles one person may keep: enough for every use, few enough to review. */
export const MAX_PROFILES_PER_USER = 100

export interface NewProfile {
  name: string
  description?: string | undefined
  adapter: AgentAdapterName
  provider?: string | undefined
  model?: string | undefined
  systemPrompt?: string | undefined
  allowedTools?: string[] | undefined
  limits?: { maxBudgetUsd?: number | null | undefined; maxTurns?: number | null | undefined } | undefined
  credential?: string | undefined
}

export function viewOf(r: AgentProfileRow): AgentProfileView {
  return {
    id: r.id,
    userId: r.userId,
    name: r.name,
    description: r.description,
    adapter: r.adapter as AgentAdapterName,
    provider: r.provider,
    model: r.model,
    systemPrompt: r.systemPrompt,
    allowedTools: r.allowedTools ?? null,
    limits: { maxBudgetUsd: r.maxBudgetUsd, maxTurns: r.maxTurns },
    credential: { set: r.credentialCiphertext !== null, updatedAt: r.credentialUpdatedAt },
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }
}

export interface ProfileStore {
  /** One person's profiles, or everyone's (userId null: admins); oldest first. */
  list(userId: string | null): MaybePromise<AgentProfileRow[]>
  get(id: string): MaybePromise<AgentProfileRow | null>
  /** The new profile, or null when the person already has `maxPerUser` (the count and the insert are one step). */
  insert(userId: string, p: NewProfile, maxPerUser: number): MaybePromise<AgentProfileRow | null>
  update(id: string, u: UpdateProfileInput): MaybePromise<AgentProfileRow | null>
  /** userId null: whoever owns it (admins). */
  remove(id: string, userId: string | null): MaybePromise<boolean>
  /** The credential of a profile row in the clear, for the model gateway only; null when none is set. */
  credentialOf(row: AgentProfileRow): string | null
}

/** The sealed credential columns for `credential` (null clears them). */
export function sealedColumns(cipher: CredentialCipher, id: string, credential: string | null, at: number) {
  if (credential === null) return { credentialCiphertext: null, credentialIv: null, credentialTag: null, credentialUpdatedAt: at }
  const s = cipher.seal(credential, id)
  return { credentialCiphertext: s.ciphertext, credentialIv: s.iv, credentialTag: s.tag, credentialUpdatedAt: at }
}

/** The row of a new profile. */
export function newProfileRow(cipher: CredentialCipher, userId: string, p: NewProfile, at: number): AgentProfileRow {
  const id = newId('agp')
  return {
    id,
    userId,
    name: p.name,
    description: p.description || null,
    adapter: p.adapter,
    provider: p.provider ?? null,
    model: p.model ?? null,
    systemPrompt: p.systemPrompt || null,
    allowedTools: p.allowedTools ?? null,
    maxBudgetUsd: p.limits?.maxBudgetUsd ?? null,
    maxTurns: p.limits?.maxTurns ?? null,
    ...(p.credential !== undefined
      ? sealedColumns(cipher, id, p.credential, at)
      : { credentialCiphertext: null, credentialIv: null, credentialTag: null, credentialUpdatedAt: null }),
    createdAt: at,
    updatedAt: at,
  }
}

/** The columns an update sets. */
export function profileUpdateColumns(cipher: CredentialCipher, id: string, u: UpdateProfileInput, at: number): Partial<AgentProfileRow> {
  const set: Partial<AgentProfileRow> = { updatedAt: at }
  if (u.name !== undefined) set.name = u.name
  if (u.description !== undefined) set.description = u.description || null
  if (u.adapter !== undefined) set.adapter = u.adapter
  if (u.provider !== undefined) set.provider = u.provider
  if (u.model !== undefined) set.model = u.model
  if (u.systemPrompt !== undefined) set.systemPrompt = u.systemPrompt || null
  if (u.allowedTools !== undefined) set.allowedTools = u.allowedTools
  if (u.limits?.maxBudgetUsd !== undefined) set.maxBudgetUsd = u.limits.maxBudgetUsd
  if (u.limits?.maxTurns !== undefined) set.maxTurns = u.limits.maxTurns
  if (u.credential !== undefined) Object.assign(set, sealedColumns(cipher, id, u.credential, at))
  return set
}

/** A row's credential in the clear, or null when none is set. */
export function openCredential(cipher: CredentialCipher, r: AgentProfileRow): string | null {
  if (r.credentialCiphertext === null || r.credentialIv === null || r.credentialTag === null) return null
  return cipher.open({ ciphertext: r.credentialCiphertext, iv: r.credentialIv, tag: r.credentialTag }, r.id)
}

export class SqliteProfileStore implements ProfileStore {
  // Prepared once: the gateway looks a profile up on every model call of a personal agent, and
  // building a drizzle query each time cost more than the lookup (as in account-store.ts).
  private readonly byId

  constructor(
    private readonly db: BetterSQLite3Database,
    private readonly cipher: CredentialCipher,
    private readonly now: () => number,
  ) {
    this.byId = db.select().from(agentProfiles).where(eq(agentProfiles.id, sql.placeholder('id'))).prepare()
  }

  /** One person's profiles, or everyone's (userId null: admins). */
  list(userId: string | null): AgentProfileRow[] {
    const q = this.db.select().from(agentProfiles)
    return (userId === null ? q : q.where(eq(agentProfiles.userId, userId))).orderBy(asc(agentProfiles.createdAt)).all()
  }

  get(id: string): AgentProfileRow | null {
    return this.byId.get({ id }) ?? null
  }

  insert(userId: string, p: NewProfile, maxPerUser: number): AgentProfileRow | null {
    // Count and insert run in one synchronous step: no other request runs between them.
    const [{ n }] = this.db.select({ n: sql<number>`count(*)` }).from(agentProfiles).where(eq(agentProfiles.userId, userId)).all() as [{ n: number }]
    if (n >= maxPerUser) return null
    return this.db.insert(agentProfiles).values(newProfileRow(this.cipher, userId, p, this.now())).returning().get()
  }

  update(id: string, u: UpdateProfileInput): AgentProfileRow | null {
    const set = profileUpdateColumns(this.cipher, id, u, this.now())
    return this.db.update(agentProfiles).set(set).where(eq(agentProfiles.id, id)).returning().get() ?? null
  }

  remove(id: string, userId: string | null): boolean {
    const where = userId === null ? eq(agentProfiles.id, id) : and(eq(agentProfiles.id, id), eq(agentProfiles.userId, userId))
    return this.db.delete(agentProfiles).where(where).run().changes > 0
  }

  credentialOf(row: AgentProfileRow): string | null {
    return openCredential(this.cipher, row)
  }
}
