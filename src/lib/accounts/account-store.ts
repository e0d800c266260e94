/**
 * Accounts in SQLite (drizzle; schema in src/lib/db/schema/accounts.ts): people, signed-in
 * browsers, session members and personal API keys. Secrets (cookie ids, keys) arrive here already
 * hashed: this module never sees one in the clear, so nothing here can log it. The `AccountStore`
 * interface is what callers use; this SQLite one answers values (synchronous, as better-sqlite3),
 * the PostgreSQL one (account-store-pg.ts) promises, and callers await both.
 */
import { randomBytes } from 'node:crypto'
import { and, desc, eq, gt, lt, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { accountSessions, apiKeys, sessionMembers, users, type ApiKeyRow, type MemberRow, type UserRow } from '../db/schema/accounts'
import { sessions } from '../db/schema/sessions'
import type { MaybePromise } from '../streams/engine'

export type MemberRole = 'viewer' | 'collaborator'

/** What a provider told us about a person at sign-in. */
export interface Identity {
  provider: string
  subject: string
  email: string | null
  emailVerified: boolean
  name: string | null
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(9).toString('base64url')}`

export type MemberView = MemberRow & { name: string | null; email: string | null }

export interface AccountStore {
  /** The person behind (provider, subject), created on first sign-in; email and name follow the provider. */
  upsertUser(who: Identity): MaybePromise<UserRow>
  user(id: string): MaybePromise<UserRow | null>
  /** Only a provider-verified email names a person (an unverified one could be anyone's). */
  userByVerifiedEmail(email: string): MaybePromise<UserRow | null>
  addSignIn(idHash: string, userId: string, ttlMs: number): MaybePromise<void>
  /** The user of a live sign-in, or null (unknown, expired). */
  signedIn(idHash: string): MaybePromise<UserRow | null>
  endSignIn(idHash: string): MaybePromise<void>
  /** The session's owner (who created it), or undefined when there is no such session. */
  ownerOf(sessionId: string): MaybePromise<string | null | undefined>
  memberRole(sessionId: string, userId: string): MaybePromise<MemberRole | null>
  /** Ids of the sessions a person owns or is a member of. */
  visibleSessionIds(userId: string): MaybePromise<string[]>
  setMember(sessionId: string, userId: string, role: MemberRole, addedBy: string): MaybePromise<MemberRow>
  members(sessionId: string): MaybePromise<MemberView[]>
  /** True when there was such a member. */
  removeMember(sessionId: string, userId: string): MaybePromise<boolean>
  /** The new key, or null when the person already has `maxPerUser` (the count and the insert are one step). */
  addKey(row: Omit<ApiKeyRow, 'createdAt' | 'lastUsedAt'>, maxPerUser: number): MaybePromise<ApiKeyRow | null>
  keyByHash(keyHash: string): MaybePromise<ApiKeyRow | null>
  /** Remembers when a key was last used, at most once a minute per key (no write per request). */
  touchKey(key: ApiKeyRow): MaybePromise<void>
  /** Newest first. */
  keysOf(userId: string): MaybePromise<ApiKeyRow[]>
  /** True when the user had such a key. */
  removeKey(userId: string, id: string): MaybePromise<boolean>
}

/** touchKey writes at most this often per key. */
export const KEY_TOUCH_MS = 60_000

export class SqliteAccountStore implements AccountStore {
  // The per-request lookups (every cookie or key request makes them), prepared once: building and
  // preparing a drizzle query each time cost more than the lookup itself (bench: auth-cost).
  private readonly q

  constructor(
    private readonly db: BetterSQLite3Database,
    private readonly now: () => number,
  ) {
    this.q = {
      signedIn: db
        .select({ user: users })
        .from(accountSessions)
        .innerJoin(users, eq(users.id, accountSessions.userId))
        .where(and(eq(accountSessions.idHash, sql.placeholder('hash')), gt(accountSessions.expiresAt, sql.placeholder('now'))))
        .prepare(),
      owner: db.select({ createdBy: sessions.createdBy }).from(sessions).where(eq(sessions.id, sql.placeholder('id'))).prepare(),
      member: db
        .select({ role: sessionMembers.role })
        .from(sessionMembers)
        .where(and(eq(sessionMembers.sessionId, sql.placeholder('sessionId')), eq(sessionMembers.userId, sql.placeholder('userId'))))
        .prepare(),
      keyByHash: db.select().from(apiKeys).where(eq(apiKeys.keyHash, sql.placeholder('hash'))).prepare(),
      user: db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare(),
    }
  }

  /** The person behind (provider, subject), created on first sign-in; email and name follow the provider. */
  upsertUser(who: Identity): UserRow {
    const at = this.now()
    const email = who.email?.trim().toLowerCase() || null
    const existing = this.db
      .select()
      .from(users)
      .where(and(eq(users.provider, who.provider), eq(users.subject, who.subject)))
      .get()
    if (existing) {
      this.db
        .update(users)
        .set({ email, emailVerified: who.emailVerified, name: who.name, lastSignInAt: at })
        .where(eq(users.id, existing.id))
        .run()
      return { ...existing, email, emailVerified: who.emailVerified, name: who.name, lastSignInAt: at }
    }
    const row: UserRow = { id: newId('u'), provider: who.provider, subject: who.subject, email, emailVerified: who.emailVerified, name: who.name, createdAt: at, lastSignInAt: at }
    this.db.insert(users).values(row).run()
    return row
  }

  user(id: string): UserRow | null {
    return this.q.user.get({ id }) ?? null
  }

  /** Only a provider-verified email names a person (an unverified one could be anyone's). */
  userByVerifiedEmail(email: string): UserRow | null {
    return (
      this.db
        .select()
        .from(users)
        .where(and(eq(users.email, email.trim().toLowerCase()), eq(users.emailVerified, true)))
        .orderBy(desc(users.lastSignInAt))
        .get() ?? null
    )
  }

  // Signed-in browsers ----------------------------------------------------------------------

  addSignIn(idHash: string, userId: string, ttlMs: number): void {
    const at = this.now()
    this.db.insert(accountSessions).values({ idHash, userId, createdAt: at, expiresAt: at + ttlMs }).run()
    // Expired rows of anyone go on each sign-in: the table stays the size of live sign-ins.
    this.db.delete(accountSessions).where(lt(accountSessions.expiresAt, at)).run()
  }

  /** The user of a live sign-in, or null (unknown, expired). */
  signedIn(idHash: string): UserRow | null {
    return this.q.signedIn.get({ hash: idHash, now: this.now() })?.user ?? null
  }

  endSignIn(idHash: string): void {
    this.db.delete(accountSessions).where(eq(accountSessions.idHash, idHash)).run()
  }

  // Sessions and members ---------------------------------------------------------------------

  /** The session's owner (who created it), or undefined when there is no such session. */
  ownerOf(sessionId: string): string | null | undefined {
    const row = this.q.owner.get({ id: sessionId })
    return row ? row.createdBy : undefined
  }

  memberRole(sessionId: string, userId: string): MemberRole | null {
    return this.q.member.get({ sessionId, userId })?.role ?? null
  }

  /** Ids of the sessions a person owns or is a member of. */
  visibleSessionIds(userId: string): string[] {
    const owned = this.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.createdBy, userId)).all()
    const invited = this.db.select({ id: sessionMembers.sessionId }).from(sessionMembers).where(eq(sessionMembers.userId, userId)).all()
    return [...new Set([...owned.map((r) => r.id), ...invited.map((r) => r.id)])]
  }

  setMember(sessionId: string, userId: string, role: MemberRole, addedBy: string): MemberRow {
    const row: MemberRow = { sessionId, userId, role, addedBy, createdAt: this.now() }
    this.db
      .insert(sessionMembers)
      .values(row)
      .onConflictDoUpdate({ target: [sessionMembers.sessionId, sessionMembers.userId], set: { role, addedBy } })
      .run()
    return row
  }

  members(sessionId: string): MemberView[] {
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
      .all()
  }

  /** True when there was such a member. */
  removeMember(sessionId: string, userId: string): boolean {
    const r = this.db
      .delete(sessionMembers)
      .where(and(eq(sessionMembers.sessionId, sessionId), eq(sessionMembers.userId, userId)))
      .run()
    return r.changes > 0
  }

  // API keys ----------------------------------------------------------------------------------

  addKey(row: Omit<ApiKeyRow, 'createdAt' | 'lastUsedAt'>, maxPerUser: number): ApiKeyRow | null {
    // Count and insert run in one synchronous step: no other request runs between them.
    const [{ n }] = this.db.select({ n: sql<number>`count(*)` }).from(apiKeys).where(eq(apiKeys.userId, row.userId)).all() as [{ n: number }]
    if (n >= maxPerUser) return null
    const full: ApiKeyRow = { ...row, createdAt: this.now(), lastUsedAt: null }
    this.db.insert(apiKeys).values(full).run()
    return full
  }

  keyByHash(keyHash: string): ApiKeyRow | null {
    return this.q.keyByHash.get({ hash: keyHash }) ?? null
  }

  /** Remembers when a key was last used, at most once a minute per key (no write per request). */
  touchKey(key: ApiKeyRow): void {
    const at = this.now()
    if (key.lastUsedAt !== null && at - key.lastUsedAt < KEY_TOUCH_MS) return
    this.db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, key.id)).run()
  }

  keysOf(userId: string): ApiKeyRow[] {
    return this.db.select().from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(desc(apiKeys.createdAt)).all()
  }

  /** True when the user had such a key. */
  removeKey(userId: string, id: string): boolean {
    return this.db.delete(apiKeys).where(and(eq(apiKeys.userId, userId), eq(apiKeys.id, id))).run().changes > 0
  }
}
