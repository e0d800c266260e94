/**
 * Registers an endpoint: URL, the event types it wants (none ticked: every type), a description.
 * The API checks the URL (https to public hosts, the SSRF rules); its 400 reason shows under the form.
 */
import { useState, type FormEvent } from 'react'
import { createWebhook, EVENT_TYPES, WebhooksApiError } from './api'
import type { LifecycleEventType } from '../../../lib/ops/lifecycle'

export function WebhookForm({ token, onCreated }: { token: string | undefined; onCreated: () => void }) {
  const [url, setUrl] = useState('')
  const [description, setDescription] = useState('')
  const [events, setEvents] = useState<LifecycleEventType[]>([])
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  const toggle = (type: LifecycleEventType, on: boolean) => setEvents((prev) => (on ? [...prev, type] : prev.filter((t) => t !== type)))

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await createWebhook(token, { url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}) })
      setUrl('')
      setDescription('')
      setEvents([])
      onCreated()
    } catch (err) {
      setError(
        err instanceof WebhooksApiError && err.field ? `${err.field}: ${err.message}` : err instanceof Error ? err.message : String(err),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card webhooks-form" data-testid="webhook-form" onSubmit={(e) => void submit(e)}>
      <h2>Add an endpoint</h2>
      <div className="field">
        <label htmlFor="webhook-url">URL</label>
        <input
          id="webhook-url"
          className="input"
          data-testid="webhook-url"
          type="text"
          inputMode="url"
          placeholder="https://ops.example.com/tether-events"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          required
        />
      </div>
      <fieldset className="webhooks-events">
        <legend className="field-label">Events (none ticked: all)</legend>
        {EVENT_TYPES.map((type) => (
          <label key={type} className="webhooks-event">
            <input
              type="checkbox"
              data-testid={`webhook-event-${type}`}
              checked={events.includes(type)}
              onChange={(e) => toggle(type, e.target.checked)}
            />
            <code>{type}</code>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="webhook-description">Description</label>
        <input
          id="webhook-description"
          className="input"
          data-testid="webhook-description"
          type="text"
          maxLength={500}
          placeholder="Pager bridge"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
      </div>
      {error ? (
        <p className="form-error" role="alert" data-testid="webhook-form-error">
          {error}
        </p>
      ) : null}
      <div>
        <button type="submit" className="btn btn-primary" data-testid="webhook-create" disabled={busy || !url.trim()}>
          {busy ? 'Adding…' : 'Add endpoint'}
        </button>
      </div>
    </form>
  )
}
