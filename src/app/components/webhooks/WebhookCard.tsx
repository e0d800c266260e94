/**
 * One endpoint: its URL, filter, description, when it was made, its last delivery outcome, a
 * delete with an inline confirm, and its recent delivery attempts (newest first), each with a
 * Replay that sends that event again now (one logged attempt) and shows how it went.
 */
import { useState } from 'react'
import { deleteWebhook, replayDelivery, type Delivery, type WebhookView } from './api'

const OUTCOME_BADGE: Record<Delivery['outcome'], string> = { delivered: 'badge-ok', retrying: 'badge-warn', failed: 'badge-danger' }

function Outcome({ d }: { d: Delivery }) {
  return (
    <span className={`badge ${OUTCOME_BADGE[d.outcome]}`} data-testid="delivery-outcome" data-outcome={d.outcome}>
      {d.outcome}
    </span>
  )
}

const when = (at: number) => new Date(at).toLocaleString()

function DeliveryRow({
  token,
  webhookId,
  d,
  onReplayed,
}: {
  token: string | undefined
  webhookId: string
  d: Delivery
  onReplayed: () => void
}) {
  const [replay, setReplay] = useState<{ busy: boolean; result?: Delivery; error?: string }>({ busy: false })
  async function run() {
    setReplay({ busy: true })
    try {
      const { delivery } = await replayDelivery(token, webhookId, d.eventId)
      setReplay({ busy: false, result: delivery })
      onReplayed()
    } catch (err) {
      setReplay({ busy: false, error: err instanceof Error ? err.message : String(err) })
    }
  }
  return (
    <tr data-testid="delivery" data-event-id={d.eventId} data-outcome={d.outcome} data-status={d.status ?? ''} data-attempt={d.attempt}>
      <td>
        <code className="webhooks-event-id" title={d.eventId}>
          {d.eventId}
        </code>
      </td>
      <td>
        <code>{d.eventType}</code>
      </td>
      <td className="webhooks-num">{d.attempt}</td>
      <td>
        <Outcome d={d} /> <span className="webhooks-status">{d.status ?? 'no answer'}</span>
      </td>
      <td className="webhooks-error">{d.error ?? ''}</td>
      <td title={when(d.at)}>{new Date(d.at).toLocaleTimeString()}</td>
      <td className="webhooks-replay">
        <button type="button" className="btn btn-sm" data-testid="delivery-replay" disabled={replay.busy} onClick={() => void run()}>
          {replay.busy ? 'Sending…' : 'Replay'}
        </button>
        {replay.result ? (
          <span className="webhooks-replay-result" role="status" data-testid="replay-result" data-outcome={replay.result.outcome}>
            {replay.result.outcome === 'delivered'
              ? 'delivered'
              : `not delivered (${replay.result.status ?? replay.result.error ?? 'no answer'})`}
          </span>
        ) : replay.error ? (
          <span className="webhooks-replay-result webhooks-error" role="alert" data-testid="replay-result" data-outcome="error">
            {replay.error}
          </span>
        ) : null}
      </td>
    </tr>
  )
}

export function WebhookCard({
  token,
  webhook,
  deliveries,
  onChanged,
}: {
  token: string | undefined
  webhook: WebhookView
  deliveries: Delivery[] | undefined
  onChanged: () => void
}) {
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState<string>()
  const last = deliveries?.[0]

  async function remove() {
    try {
      await deleteWebhook(token, webhook.id)
      onChanged()
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
      setConfirming(false)
    }
  }

  return (
    <article className="card webhooks-card" data-testid="webhook" data-id={webhook.id} data-url={webhook.url}>
      <header className="webhooks-card-head">
        <div className="webhooks-card-title">
          <code className="webhooks-url" data-testid="webhook-url-shown">
            {webhook.url}
          </code>
          {webhook.description ? <span className="muted">{webhook.description}</span> : null}
        </div>
        <div className="webhooks-card-actions">
          {confirming ? (
            <>
              <span className="muted">Delete this endpoint and its log?</span>
              <button type="button" className="btn btn-danger btn-sm" data-testid="webhook-delete-confirm" onClick={() => void remove()}>
                Delete
              </button>
              <button type="button" className="btn btn-ghost btn-sm" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" className="btn btn-ghost btn-sm" data-testid="webhook-delete" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </div>
      </header>
      <dl className="webhooks-meta">
        <dt>Events</dt>
        <dd data-testid="webhook-events">{webhook.events.length ? webhook.events.join(', ') : 'all'}</dd>
        <dt>Created</dt>
        <dd>
          {when(webhook.createdAt)}
          {webhook.createdBy ? ` by ${webhook.createdBy}` : ''}
        </dd>
        <dt>Last delivery</dt>
        <dd data-testid="webhook-last" data-outcome={last?.outcome ?? 'none'}>
          {last ? (
            <>
              <Outcome d={last} /> {when(last.at)}
            </>
          ) : (
            'none yet'
          )}
        </dd>
      </dl>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {deliveries?.length ? (
        <div className="webhooks-table-wrap">
          <table className="webhooks-table" data-testid="deliveries">
            <thead>
              <tr>
                <th>Event</th>
                <th>Type</th>
                <th>Attempt</th>
                <th>Status</th>
                <th>Error</th>
                <th>Time</th>
                <th>
                  <span className="sr-only">Replay</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <DeliveryRow key={d.id} token={token} webhookId={webhook.id} d={d} onReplayed={onChanged} />
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted webhooks-none">No deliveries yet: events after this endpoint was added will show here.</p>
      )}
    </article>
  )
}
