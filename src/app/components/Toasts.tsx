import { useSyncExternalStore } from 'react'
import type { FailureStore } from '../../lib/sessions/client/actions'

const EMPTY: never[] = []
const noop = () => () => undefined

/** Writes the server refused: the optimistic change has been rolled back; say so and why. */
export function WriteFailures({ store }: { store?: FailureStore }) {
  const failures = useSyncExternalStore(store?.subscribe ?? noop, store?.getSnapshot ?? (() => EMPTY), () => EMPTY)
  if (failures.length === 0) return null
  return (
    <div className="toasts" role="alert" aria-live="assertive">
      {failures.map((f) => (
        <div className="toast" key={f.id} data-testid="write-error">
          <div>
            <strong>Couldn’t {f.action}</strong>
            <p>{f.message}</p>
          </div>
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => store?.dismiss(f.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  )
}
