/**
 * "Quotas of a person" on /admin/stats (specs/accounts.md, "Quotas and rate limits"): an admin
 * looks a person up by user id (the "Per user" table lists them), sees their limits, the server's
 * defaults and what they use now, and sets overrides. A field left empty falls back to the
 * default; "unlimited" lifts the quota for this person.
 */
import { type FormEvent, useState } from 'react'
import { call } from '../../../lib/sessions/client/api'
import { formatUsd } from '../format'

type Name = 'concurrentSessions' | 'sessionsPerDay' | 'monthlySpendUsd'
type Limits = Record<Name, number | null>
interface QuotaView {
  userId: string
  limits: Limits
  defaults: Limits
  overrides: Partial<Limits>
  usage: Record<Name, number>
}

const ROWS: { name: Name; label: string; money?: boolean }[] = [
  { name: 'concurrentSessions', label: 'Running sessions' },
  { name: 'sessionsPerDay', label: 'Sessions started today (UTC)' },
  { name: 'monthlySpendUsd', label: 'Model spend this month (UTC)', money: true },
]

const shown = (v: number | null | undefined, money?: boolean) => (v === null ? 'unlimited' : v === undefined ? 'default' : money ? formatUsd(v) : String(v))
const draftOf = (o: Partial<Limits>) =>
  Object.fromEntries(ROWS.map(({ name }) => [name, o[name] === undefined ? '' : o[name] === null ? 'unlimited' : String(o[name])])) as Record<Name, string>

/** The field's text as an override: '' = default (left out), 'unlimited' = null, else a number. */
function parseDraft(draft: Record<Name, string>): Partial<Limits> | string {
  const out: Partial<Limits> = {}
  for (const { name, label } of ROWS) {
    const text = draft[name].trim().toLowerCase()
    if (text === '') continue
    if (text === 'unlimited') out[name] = null
    else if (/^\d+(\.\d+)?$/.test(text)) out[name] = Number(text)
    else return `${label}: a number, "unlimited", or empty for the default`
  }
  return out
}

export function UserQuotas({ token }: { token?: string }) {
  const [userId, setUserId] = useState('')
  const [view, setView] = useState<QuotaView>()
  const [draft, setDraft] = useState<Record<Name, string>>(draftOf({}))
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  const run = async (f: () => Promise<QuotaView>) => {
    setBusy(true)
    setError(undefined)
    try {
      const v = await f()
      setView(v)
      setDraft(draftOf(v.overrides))
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }
  const path = () => `/api/users/${encodeURIComponent(userId.trim())}/quotas`
  const load = (e: FormEvent) => {
    e.preventDefault()
    if (userId.trim()) void run(() => call<QuotaView>(path(), token))
  }
  const save = (e: FormEvent) => {
    e.preventDefault()
    const overrides = parseDraft(draft)
    if (typeof overrides === 'string') return setError(overrides)
    void run(() => call<QuotaView>(path(), token, { method: 'PUT', body: JSON.stringify(overrides) }))
  }

  return (
    <section className="card stats-table" style={{ display: 'grid', gap: 12 }} data-testid="user-quotas">
      <h2>Quotas of a person</h2>
      <form onSubmit={load} style={{ display: 'flex', gap: 8, alignItems: 'end' }}>
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="quota-user">User id</label>
          <input id="quota-user" className="input mono" value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="u_… (see Per user)" />
        </div>
        <button type="submit" className="btn" disabled={busy || !userId.trim()}>
          Show
        </button>
      </form>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {view ? (
        <form onSubmit={save} style={{ display: 'grid', gap: 8 }}>
          <table>
            <thead>
              <tr>
                <th>Quota</th>
                <th>Used</th>
                <th>Limit</th>
                <th>Default</th>
                <th>Override</th>
              </tr>
            </thead>
            <tbody>
              {ROWS.map(({ name, label, money }) => (
                <tr key={name} data-testid={`quota-${name}`}>
                  <td>{label}</td>
                  <td>{money ? formatUsd(view.usage[name]) : view.usage[name]}</td>
                  <td>{shown(view.limits[name], money)}</td>
                  <td>{shown(view.defaults[name], money)}</td>
                  <td>
                    <input
                      aria-label={`${label} override`}
                      className="input"
                      value={draft[name]}
                      onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
                      placeholder="default"
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="submit" className="btn btn-primary" disabled={busy} style={{ justifySelf: 'start' }}>
            Save quotas
          </button>
        </form>
      ) : null}
    </section>
  )
}
