/** How receivers check that a delivery came from this server (specs/operations.md, Lifecycle webhooks). */
import type { SigningInfo } from './api'

export function SigningNote({ signing }: { signing: SigningInfo }) {
  return (
    <section className="card webhooks-signing" data-testid="webhook-signing">
      <h2>Signing</h2>
      <dl>
        <dt>Algorithm</dt>
        <dd>
          <code>{signing.alg}</code>
        </dd>
        <dt>Key id</dt>
        <dd>
          <code data-testid="webhook-kid">{signing.kid}</code>
        </dd>
        <dt>Public keys</dt>
        <dd>
          <a href={signing.jwksUrl} data-testid="webhook-jwks" target="_blank" rel="noreferrer">
            <code>{signing.jwksUrl}</code>
          </a>
        </dd>
      </dl>
      <p className="muted">
        A receiver takes <code>t</code> and <code>kid</code> from the <code>Webhook-Signature</code> header, verifies its{' '}
        <code>ed25519</code> value over <code>{'<t>.<raw body>'}</code> with that key from the JWKS, refuses old <code>t</code> values, and
        dedupes by <code>Webhook-Id</code>.
      </p>
    </section>
  )
}
