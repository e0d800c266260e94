import type { Presence } from '../../lib/sessions/channel-schemas'

function initials(name: string): string {
  const parts = name.trim().split(/\s+/)
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase()
}

/** What a person is doing here: viewers watch (they cannot write); then active, idle or away. */
export function presenceLabel(person: Pick<Presence, 'status' | 'role'>): string {
  if (person.role !== 'viewer') return person.status
  return person.status === 'active' ? 'watching' : `watching, ${person.status}`
}

export function Avatar({ person, small }: { person: Pick<Presence, 'displayName' | 'color' | 'status' | 'role'>; small?: boolean }) {
  return (
    <span
      className={`avatar${small ? ' avatar-sm' : ''}${person.role === 'viewer' ? ' avatar-viewer' : ''}`}
      style={{ background: person.color }}
      title={`${person.displayName} (${presenceLabel(person)})`}
    >
      {initials(person.displayName)}
      <span className={`avatar-status ${person.status}`} aria-hidden="true" />
    </span>
  )
}

export function AvatarStack({ people, max = 4, small }: { people: ReadonlyArray<Presence>; max?: number; small?: boolean }) {
  if (people.length === 0) return <span className="faint">nobody</span>
  const shown = people.slice(0, max)
  return (
    <span className="avatars" role="img" aria-label={`${people.length} here: ${people.map((p) => p.displayName).join(', ')}`}>
      {shown.map((p) => (
        <Avatar key={p.userId} person={p} small={small} />
      ))}
      {people.length > max ? (
        <span className={`avatar${small ? ' avatar-sm' : ''}`} style={{ background: 'var(--text-faint)' }}>
          +{people.length - max}
        </span>
      ) : null}
    </span>
  )
}

export function PeopleList({ people, selfId }: { people: ReadonlyArray<Presence>; selfId: string }) {
  if (people.length === 0) return <p className="faint">Nobody is here yet.</p>
  return (
    <ul className="people-list" data-testid="people">
      {people.map((p) => (
        <li key={p.userId} data-user={p.userId} data-status={p.status} data-role={p.role ?? ''}>
          <Avatar person={p} small />
          <span>{p.displayName}</span>
          {p.userId === selfId ? <span className="you">(you)</span> : null}
          <span className="faint" style={{ marginLeft: 'auto', fontSize: 12 }} data-testid="presence-label">
            {presenceLabel(p)}
            {p.focusedPane ? ` · ${p.focusedPane}` : ''}
          </span>
        </li>
      ))}
    </ul>
  )
}

/**
 * Other people's pointers on the same view, positioned as fractions of the layer (which covers the
 * view). A cursor shows only while its owner is active: null once their pointer left the area,
 * and stale once they are idle (no input for a minute) or away (tab hidden).
 */
export function LiveCursors({ people, selfId, pane }: { people: ReadonlyArray<Presence>; selfId: string; pane: string }) {
  return (
    <div className="cursor-layer" aria-hidden="true">
      {people
        // A position only means something on the same view as ours.
        .filter((p) => p.userId !== selfId && p.cursor && p.status === 'active' && (p.focusedPane ?? pane) === pane)
        .map((p) => (
          <div
            key={p.userId}
            className="live-cursor"
            data-testid="live-cursor"
            data-user={p.userId}
            style={{ transform: `translate(calc(${(p.cursor?.x ?? 0) * 100}cqw), calc(${(p.cursor?.y ?? 0) * 100}cqh))` }}
          >
            <svg width="18" height="20" viewBox="0 0 18 20" aria-hidden="true">
              <path d="M1 1l6.5 17 2.3-7.2L17 8.5z" fill={p.color} stroke="white" strokeWidth="1.4" strokeLinejoin="round" />
            </svg>
            <span className="live-cursor-label" style={{ background: p.color }}>
              {p.displayName}
            </span>
          </div>
        ))}
    </div>
  )
}
