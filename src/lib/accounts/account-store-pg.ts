/**
 * Accounts in PostgreSQL (issue #14): the AccountStore of account-store.ts on drizzle's
 * postgres-js dialect and the schema-pg tables. Every answer is a promise. Where SQLite's store
 * reads and then writes in one synchronous step, this one uses one statement (upsertUser:
 * `INSERT … ON CONFLICT DO UPDATE`) or a transaction holding a lock (addKey: the person's row),
 * so two nodes cannot both pass a check the other is about to change.
 */
import { and, desc, eq, gt, lt, sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { accountSessions, apiKeys, sessionMembers, users } from '../db/schema-pg/accounts'
import { sessions } from '../db/schema-pg/sessions'
import type { ApiKeyRow, MemberRow, UserRow } from '../db/schema/accounts'
import { KEY_TOUCH_MS, newId, type AccountStore, type Identity, type MemberRole, type MemberView } from './account-store'

export class PgAccountStore implements AccountStore {
  constructor(
    private readonly db: PostgresJsDatabase,
    private readonly now: () => number,
  ) {}

  async upsertUser(who: Identity): Promise<UserRow> {
    const at = this.now()
    const email = who.email?.trim().toLowerCase() || null
    const [row] = await this.db
      .insert(users)
      .values({ id: newId('u'), provider: who.provider, subject: who.subject, email, emailVerified: who.emailVerified, name: who.name, createdAt: at, lastSignInAt: at })
      .onConflictDoUpdate({ target: [users.provider, users.subject], set: { email, emailVerified: who.emailVerified, name: who.name, lastSignInAt: at } })
      .returning()
    return row!
  }

  async user(id: string): Promise<UserRow | null> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id))
    return row ?? null
  }

  async userByVerifiedEmail(email: string): Promise<UserRow | null> {
    const [row] = await this.db
      .select()
      .from(users)
      .where(and(eq(users.email, email.trim().toLowerCase()), eq(users.emailVerified, true)))
      .orderBy(desc(users.lastSignInAt))
      .limit(1)
    return row ?? null
  }

  async addSignIn(idHash: string, userId: string, ttlMs: number): Promise<void> {
    const at = this.now()
    await this.db.insert(accountSessions).values({ idHash, userId, createdAt: at, expiresAt: at + ttlMs })
    // Expired rows of anyone go on each sign-in: the table stays the size of live sign-ins.
    await this.db.delete(accountSessions).where(lt(accountSessions.expiresAt, at))
  }

  async signedIn(idHash: string): Promise<UserRow | null> {
    const [row] = await this.db
      .select({ user: users })
      .from(accountSessions)
      .innerJoin(users, eq(users.id, accountSessions.userId))
      .where(and(eq(accountSessions.idHash, idHash), gt(accountSessions.expiresAt, this.now())))
    return row?.user ?? null
  }

  async endSignIn(idHash: string): Promise<void> {
    await this.db.delete(accountSessions).where(eq(accountSessions.idHash, idHash))
  }

  async ownerOf(sessionId: string): Promise<string | null | undefined> {
    const [row] = await this.db.select({ createdBy: sessions.createdBy }).from(sessions).where(eq(sessions.id, sessionId))
    return row ? row.createdBy : undefined
  }

  async memberRole(sessionId: string, userId: string): Promise<MemberRole | null> {
    const [row] = await this.db
      .select({ role: sessionMembers.role })
      .from(sessionMembers)
      .where(and(eq(sessionMembers.sessionId, sessionId), eq(sessionMembers.userId, userId)))
    return row?.role ?? null
  }

  async visibleSessionIds(userId: string): Promise<string[]> {
    const [owned, invited] = await Promise.all([
      this.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.createdBy, userId)),
      this.db.select({ id: sessionMembers.sessionId }).from(sessionMembers).where(eq(sessionMembers.userId, userId)),
    ])
    return [...new Set([...owned.map((r) => r.id), ...invited.map((r) => r.id)])]
  }

  async setMember(sessionId: string, userId: string, role: MemberRole, addedBy: string): Promise<MemberRow> {
    const row: MemberRow = { sessionId, userId, role, addedBy, createdAt: this.now() }
    await this.db
      .insert(sessionMembers)
      .values(row)
      .onConflictDoUpdate({ target: [sessionMembers.sessionId, sessionMembers.userId], set: { role, addedBy } })
    return row
  }

  async members(sessionId: string): Promise<MemberView[]> {
    return this.db
      .select({
        sessionId: sessionMembers.sessionId,
        userId: sessionMembers.userId,
        role: sessionMembers.role,
        addedBy: sessionMembers.addedBy,
        createdAt: sessionMembers.createdAt,
        name: users.name,
        email: users.email,
      })
      .from(sessionMembers)
      .leftJoin(users, eq(users.id, sessionMembers.userId))
      .where(eq(sessionMembers.sessionId, sessionId))
      .orderBy(sessionMembers.createdAt)
  }

  async removeMember(sessionId: string, userId: string): Promise<boolean> {
    const gone = await this.db
      .delete(sessionMembers)
      .where(and(eq(sessionMembers.sessionId, sessionId), eq(sessionMembers.userId, userId)))
      .returning({ userId: sessionMembers.userId })
    return gone.length > 0
  }

  async addKey(row: Omit<ApiKeyRow, 'createdAt' | 'lastUsedAt'>, maxPerUser: number): Promise<ApiKeyRow | null> {
    const full: ApiKeyRow = { ...row, createdAt: this.now(), lastUsedAt: null }
    return this.db.transaction(async (tx) => {
      // The person's row is the lock: two requests (on any nodes) count one after the other.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, row.userId)).for('update')
      const [{ n } = { n: 0 }] = await tx.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(apiKeys).where(eq(apiKeys.userId, row.userId))
      if (n >= maxPerUser) return null
      await tx.insert(apiKeys).values(full)
      return full
    })
  }

  async keyByHash(keyHash: string): Promise<ApiKeyRow | null> {
    const [row] = await this.db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash))
    return row ?? null
  }

  async touchKey(key: ApiKeyRow): Promise<void> {
    const at = this.now()
    if (key.lastUsedAt !== null && at - key.lastUsedAt < KEY_TOUCH_MS) return
    await this.db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, key.id))
  }

  async keysOf(userId: string): Promise<ApiKeyRow[]> {
    return this.db.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(desc(apiKeys.createdAt))
  }

  async removeKey(userId: string, id: string): Promise<boolean> {
    const gone = await this.db
      .delete(apiKeys)
      .where(and(eq(apiKeys.userId, userId), eq(apiKeys.id, id)))
      .returning({ id: apiKeys.id })
    return gone.length > 0
  }
}
