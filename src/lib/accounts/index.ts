/**
 * Accounts (issue #11; specs/accounts.md): people sign in through an identity provider and get
 * an http-only cookie; they own the sessions they create, are invited to others by account, and
 * hold personal API keys. With no provider configured this is inert: no cookie is ever set, and
 * the authenticator's `tk_`/cookie branch finds nothing (the admin link and tokens work as before).
 */
import { HttpError, errorResponse } from '../sessions/http'
import type { TokenClaims } from '../sessions/tokens'
import type { AccountStore } from './account-store'
import { cookiePolicy } from './cookies'
import { createCredentials, type AccountCredentials } from './credentials'
import { KEYS_PATH, createKeysApi } from './keys-api'
import { membersRoute } from './members-api'
import { createProviders, type ProvidersConfig } from './providers'
import { AUTH_PATHS, createSignInApi } from './sign-in-api'
import type { AuditInput } from '../ops/audit'
import type { ProviderEnv } from '../gateway/providers'
import type { ProfileLookup } from '../sessions/agent-profiles-resolve'
import type { SessionRecord } from '../sessions/session-types'
import { AGENTS_PATH } from './agent-profile-types'
import type { ProfileStore } from './profile-store'
import { createProfilesApi } from './profiles-api'
import { profileLookup, providerEnvFor } from './profile-use'

export { API_KEY_PREFIX } from './credentials'
export type { AccountCredentials } from './credentials'
export type { ProvidersConfig } from './providers'

export interface AccountsConfig {
  providers: ProvidersConfig
  /** Lower-case emails whose (provider-verified) owners are admins. */
  adminEmails: readonly string[]
  /** How long a sign-in lasts. */
  signInTtlMs: number
}

export const DEFAULT_SIGN_IN_DAYS = 14

export interface Accounts {
  store: AccountStore
  credentials: AccountCredentials
  /** Sign-in configured (at least one provider). */
  enabled: boolean
  owns(pathname: string): boolean
  handle(req: Request): Promise<Response>
  /** The `members` sub-resource of the sessions API. */
  members(req: Request, claims: TokenClaims, id: string, segments: string[], body: (req: Request) => Promise<unknown>): Promise<Response | null>
  /** Sessions an account's list shows (owned and invited); admins' claims list everything instead. */
  visibleSessionIds(userId: string): string[] | Promise<string[]>
  /** Personal agent profiles (specs/accounts.md, Personal agents). */
  profiles: ProfileStore
  /** Sessions and agents made from a profile: its owner's or an admin's only. */
  profileLookup: ProfileLookup
  /** The model gateway's hook: the credential of the profile an agent was made from (null: the server's keys). */
  providerEnvFor(session: SessionRecord, agentId: string): Promise<ProviderEnv | null>
}

export function createAccounts(opts: {
  /** People, keys and members; and personal agent profiles (their credentials sealed): either engine's stores. */
  store: AccountStore
  profiles: ProfileStore
  config: AccountsConfig
  publicUrl: string
  maxBodyBytes: number
  now: () => number
  onSignIn?: (userId: string, provider: string) => void
  /** The request's claims (cookie, personal key or token), for /api/agents. */
  authenticate(req: Request): Promise<TokenClaims>
  audit?: (entry: AuditInput) => Promise<unknown> | unknown
}): Accounts {
  const publicUrl = opts.publicUrl.replace(/\/+$/, '')
  const origins = [new URL(publicUrl).origin]
  const { store, profiles } = opts
  const cookie = cookiePolicy(publicUrl)
  const providers = createProviders(opts.config.providers)
  const credentials = createCredentials({ store, cookie, adminEmails: new Set(opts.config.adminEmails.map((e) => e.toLowerCase())), origins, now: opts.now })
  const signIn = createSignInApi({ providers, store, credentials, cookie, publicUrl, signInTtlMs: opts.config.signInTtlMs, now: opts.now, onSignIn: opts.onSignIn })
  const keys = createKeysApi({ store, credentials, origins, maxBodyBytes: opts.maxBodyBytes, roleOn: credentials.roleOn })
  const authPaths = new Set<string>(Object.values(AUTH_PATHS))
  const enabled = () => providers.size > 0
  const profilesApi = createProfilesApi({ store: profiles, enabled, authenticate: opts.authenticate, maxBodyBytes: opts.maxBodyBytes, audit: opts.audit })
  return {
    store,
    credentials,
    enabled: providers.size > 0,
    owns: (p) => authPaths.has(p) || p === KEYS_PATH || p.startsWith(`${KEYS_PATH}/`) || p === AGENTS_PATH || p.startsWith(`${AGENTS_PATH}/`),
    handle: async (req) => {
      const p = new URL(req.url).pathname
      if (authPaths.has(p)) return signIn(req)
      if (p === AGENTS_PATH || p.startsWith(`${AGENTS_PATH}/`)) return profilesApi(req)
      // Off means off: keys made under an earlier configuration neither work nor can be managed.
      if (providers.size === 0) return errorResponse(new HttpError(404, 'sign-in is not configured on this server (no identity provider)'))
      return keys(req)
    },
    members: (req, claims, id, segments, body) => membersRoute({ store, body }, req, claims, id, segments),
    visibleSessionIds: (userId) => store.visibleSessionIds(userId),
    profiles,
    profileLookup: profileLookup(profiles),
    providerEnvFor: providerEnvFor(profiles, enabled),
  }
}
