import type { ReactNode } from 'react'

export function EmptyState({
  icon = '✦',
  title,
  detail,
  action,
}: {
  icon?: ReactNode
  title: string
  detail?: ReactNode
  action?: ReactNode
}) {
  return (
    <div className="empty" role="status">
      <div className="empty-icon" aria-hidden="true">
        {icon}
      </div>
      <h2>{title}</h2>
      {detail ? <p>{detail}</p> : null}
      {action}
    </div>
  )
}

export function ErrorState({ title, detail, action }: { title: string; detail?: ReactNode; action?: ReactNode }) {
  return (
    <div className="error-state" role="alert">
      <div className="empty-icon" aria-hidden="true">
        !
      </div>
      <h2>{title}</h2>
      {detail ? <p>{detail}</p> : null}
      {action}
    </div>
  )
}

/** A whole page that only says what went wrong (under an optional header). */
export function ErrorPage({
  header,
  title,
  detail,
  action,
}: {
  header?: ReactNode
  title: string
  detail?: ReactNode
  action?: ReactNode
}) {
  return (
    <div className="app">
      {header}
      <main className="page">
        <ErrorState title={title} detail={detail} action={action} />
      </main>
    </div>
  )
}

export function Skeleton({ width = '100%', height = 14 }: { width?: string | number; height?: number }) {
  return <div className="skeleton" style={{ width, height }} aria-hidden="true" />
}
