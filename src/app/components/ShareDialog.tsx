import { useState } from 'react'
import { Dialog } from './Dialog'

export function ShareDialog({ url, note, loading, onClose }: { url?: string; note?: string; loading?: boolean; onClose: () => void }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    if (!url) return
    try {
      await navigator.clipboard.writeText(url)
      setCopied(true)
      setTimeout(() => setCopied(false), 1600)
    } catch {
      // clipboard blocked: the field is selectable
    }
  }
  return (
    <Dialog title="Share this session" onClose={onClose}>
      <p className="muted" style={{ margin: 0 }}>
        Anyone with this link can join as a collaborator: read the conversation, send messages, run terminal commands and stop the agent.
      </p>
      {loading ? (
        <p className="muted" data-testid="share-loading">
          Getting a share link…
        </p>
      ) : url ? (
        <div className="copy-row">
          <input
            className="input"
            readOnly
            value={url}
            onFocus={(e) => e.currentTarget.select()}
            aria-label="Share link"
            data-testid="share-url"
          />
          <button type="button" className="btn btn-primary" onClick={copy}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        </div>
      ) : (
        <p className="form-error" data-testid="share-error">
          {note ?? 'No share link is available for this session.'}
        </p>
      )}
      {url && note ? <p className="field-hint">{note}</p> : null}
    </Dialog>
  )
}
