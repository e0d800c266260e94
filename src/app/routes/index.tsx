import { createFileRoute } from '@tanstack/react-router'

export const Route = createFileRoute('/')({ component: Home })

function Home() {
  return (
    <main>
      <h1>Tether</h1>
      <p>Durable sessions for humans and AI agents.</p>
    </main>
  )
}
