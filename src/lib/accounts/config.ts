/**
 * Sign-in settings from the parsed environment (src/lib/settings): a provider counts only when
 * all of its variables are set; half a provider stops start-up naming what is missing.
 */
import type { AccountsConfig } from './index'

export interface AccountsEnv {
  TETHER_OIDC_ISSUER?: string
  TETHER_OIDC_CLIENT_ID?: string
  TETHER_OIDC_CLIENT_SECRET?: string
  TETHER_GITHUB_CLIENT_ID?: string
  TETHER_GITHUB_CLIENT_SECRET?: string
  TETHER_ADMIN_EMAILS?: string
  TETHER_SIGNIN_DAYS: number
}

function all(group: Record<string, string | undefined>): Record<string, string> | null {
  const set = Object.entries(group).filter(([, v]) => v !== undefined && v !== '')
  if (set.length === 0) return null
  const missing = Object.keys(group).filter((k) => !group[k])
  if (missing.length > 0) throw new Error(`Invalid configuration: ${missing.join(', ')}: needed with ${set.map(([k]) => k).join(', ')}`)
  return group as Record<string, string>
}

export function accountsConfigFrom(e: AccountsEnv): AccountsConfig {
  const oidc = all({ TETHER_OIDC_ISSUER: e.TETHER_OIDC_ISSUER, TETHER_OIDC_CLIENT_ID: e.TETHER_OIDC_CLIENT_ID, TETHER_OIDC_CLIENT_SECRET: e.TETHER_OIDC_CLIENT_SECRET })
  const github = all({ TETHER_GITHUB_CLIENT_ID: e.TETHER_GITHUB_CLIENT_ID, TETHER_GITHUB_CLIENT_SECRET: e.TETHER_GITHUB_CLIENT_SECRET })
  return {
    providers: {
      ...(oidc ? { oidc: { issuer: oidc.TETHER_OIDC_ISSUER, clientId: oidc.TETHER_OIDC_CLIENT_ID, clientSecret: oidc.TETHER_OIDC_CLIENT_SECRET } } : {}),
      ...(github ? { github: { clientId: github.TETHER_GITHUB_CLIENT_ID, clientSecret: github.TETHER_GITHUB_CLIENT_SECRET } } : {}),
    },
    adminEmails: (e.TETHER_ADMIN_EMAILS ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
    signInTtlMs: Math.max(1, e.TETHER_SIGNIN_DAYS) * 86_400_000,
  }
}
