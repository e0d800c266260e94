/**
 * Identity providers through `openid-client` (a certified OpenID Connect relying party): any OIDC
 * issuer (discovery, authorization code + PKCE + state + nonce, ID token validated by the library)
 * and GitHub as a named preset (plain OAuth 2: no ID token, so the person comes from GitHub's
 * `/user` and `/user/emails` with the access token). No protocol code of our own lives here: this
 * module only says which provider, which scopes and which answer fields make an Identity.
 */
import * as oidc from 'openid-client'
import type { Identity } from './account-store'

export type ProviderId = 'oidc' | 'github'

export interface OidcProviderConfig {
  issuer: string
  clientId: string
  clientSecret: string
}

export interface ProvidersConfig {
  oidc?: OidcProviderConfig
  github?: { clientId: string; clientSecret: string }
}

/** What the login step keeps until the callback (never sent to the browser except `state`). */
export interface PendingLogin {
  provider: ProviderId
  codeVerifier: string
  nonce: string | null
  returnTo: string
}

export interface Provider {
  id: ProviderId
  /** Where to send the browser, with the PKCE challenge, state and (OIDC) nonce. */
  authorizationUrl(redirectUri: string, state: string, pending: PendingLogin): Promise<URL>
  /** Validates the provider's answer at `callbackUrl` and returns who signed in. */
  identity(callbackUrl: URL, state: string, pending: PendingLogin): Promise<Identity>
}

const GITHUB = {
  issuer: 'https://github.com',
  authorization_endpoint: 'https://github.com/login/oauth/authorize',
  token_endpoint: 'https://github.com/login/oauth/access_token',
}
const GITHUB_API = 'https://api.github.com'

/** http is allowed only for an issuer on loopback (a test's or a developer's own provider). */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
}

function oidcProvider(cfg: OidcProviderConfig): Provider {
  const issuer = new URL(cfg.issuer)
  // Discovery once, on first use: a provider down at start must not stop the server.
  let config: Promise<oidc.Configuration> | null = null
  const configuration = () => {
    config ??= oidc
      .discovery(issuer, cfg.clientId, undefined, oidc.ClientSecretBasic(cfg.clientSecret), {
        ...(isLoopbackHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((err: unknown) => {
        config = null // try discovery again on the next sign-in
        throw err
      })
    return config
  }
  return {
    id: 'oidc',
    async authorizationUrl(redirectUri, state, pending) {
      return oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce: pending.nonce ?? '',
      })
    },
    async identity(callbackUrl, state, pending) {
      const c = await configuration()
      const tokens = await oidc.authorizationCodeGrant(c, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: state,
        expectedNonce: pending.nonce ?? undefined,
        idTokenExpected: true,
      })
      const claims = tokens.claims()
      if (!claims) throw new Error('the provider returned no ID token')
      // The ID token may be thin; the userinfo endpoint has the profile (same subject, checked).
      let info: Record<string, unknown> = { ...claims }
      if (c.serverMetadata().userinfo_endpoint) {
        info = { ...info, ...(await oidc.fetchUserInfo(c, tokens.access_token, claims.sub)) }
      }
      const email = typeof info.email === 'string' ? info.email : null
      const name = [info.name, info.preferred_username, email].find((v): v is string => typeof v === 'string' && v.length > 0) ?? null
      return { provider: 'oidc', subject: claims.sub, email, emailVerified: info.email_verified === true, name }
    },
  }
}

function githubProvider(cfg: { clientId: string; clientSecret: string }): Provider {
  const config = new oidc.Configuration(GITHUB, cfg.clientId, undefined, oidc.ClientSecretPost(cfg.clientSecret))
  const api = async (token: string, path: string): Promise<unknown> => {
    const res = await oidc.fetchProtectedResource(config, token, new URL(`${GITHUB_API}${path}`), 'GET', undefined, new Headers({ accept: 'application/vnd.github+json' }))
    if (!res.ok) throw new Error(`GitHub ${path} answered ${res.status}`)
    return res.json()
  }
  return {
    id: 'github',
    async authorizationUrl(redirectUri, state, pending) {
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'read:user user:email',
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
        state,
      })
    },
    async identity(callbackUrl, state, pending) {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.codeVerifier, expectedState: state })
      const user = (await api(tokens.access_token, '/user')) as { id?: unknown; login?: unknown; name?: unknown }
      if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new Error('GitHub returned no user id')
      const emails = (await api(tokens.access_token, '/user/emails').catch(() => [])) as { email?: unknown; primary?: unknown; verified?: unknown }[]
      const primary = Array.isArray(emails) ? emails.find((e) => e.primary === true && typeof e.email === 'string') : undefined
      const name = typeof user.name === 'string' && user.name ? user.name : typeof user.login === 'string' ? user.login : null
      return {
        provider: 'github',
        subject: String(user.id),
        email: primary ? String(primary.email) : null,
        emailVerified: primary?.verified === true,
        name,
      }
    },
  }
}

/** The configured providers (none: sign-in is off). */
export function createProviders(cfg: ProvidersConfig): Map<ProviderId, Provider> {
  const out = new Map<ProviderId, Provider>()
  if (cfg.oidc) out.set('oidc', oidcProvider(cfg.oidc))
  if (cfg.github) out.set('github', githubProvider(cfg.github))
  return out
}

export const randomVerifier = oidc.randomPKCECodeVerifier
export const randomState = oidc.randomState
export const randomNonce = oidc.randomNonce
