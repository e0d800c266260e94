/**
 * A real OpenID provider for tests (`oidc-provider`, the certified Node implementation) on
 * loopback. People are named by the test: `signInAs(id)` says who the next login at the
 * provider is (its interaction step answers at once instead of showing a form), and consent is
 * granted for them (loadExistingGrant), so a sign-in is one run of redirects.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

export interface TestPerson {
  name: string
  email: string
  emailVerified?: boolean
}

export interface TestIdentityProvider {
  issuer: string
  clientId: string
  clientSecret: string
  signInAs(subject: string): void
  setRedirectUris(uris: string[]): void
  close(): Promise<void>
}

/** `redirectUris` may be given later (setRedirectUris) when the app's port is known only after the provider's. */
export async function startIdentityProvider(opts: {
  redirectUris?: string[]
  people: Record<string, TestPerson>
}): Promise<TestIdentityProvider> {
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const clientId = 'tether-test'
  const clientSecret = 'test-client-secret-0123456789abcdef'
  let next: string | null = null
  let provider!: Provider
  let callback!: ReturnType<Provider['callback']>
  const configure = (redirectUris: string[]) => {
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      cookies: { keys: ['test-cookie-key-for-the-identity-provider'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
      ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
      findAccount: (_ctx, sub) => {
        const person = opts.people[sub]
        if (!person) return undefined
        return {
          accountId: sub,
          claims: () => ({ sub, name: person.name, email: person.email, email_verified: person.emailVerified ?? true }),
        }
      },
      // Consent is given: the test is about Tether's side of the flow.
      loadExistingGrant: async (ctx) => {
        const accountId = ctx.oidc.session?.accountId
        const clientIdOf = ctx.oidc.client?.clientId
        if (!accountId || !clientIdOf) return undefined
        const grant = new ctx.oidc.provider.Grant({ clientId: clientIdOf, accountId })
        grant.addOIDCScope('openid email profile')
        await grant.save()
        return grant
      },
    })
    callback = provider.callback()
  }
  if (opts.redirectUris) configure(opts.redirectUris)
  server.on('request', (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        await provider.interactionDetails(req, res)
        if (!next) {
          await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'nobody signs in' })
          return
        }
        await provider.interactionFinished(req, res, { login: { accountId: next } }, { mergeWithLastSubmission: false })
      })().catch((err: unknown) => {
        res.statusCode = 500
        res.end(String(err))
      })
      return
    }
    callback(req, res)
  })
  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(subject) {
      next = subject
    },
    setRedirectUris: configure,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
