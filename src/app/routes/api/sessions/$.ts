import { createFileRoute } from '@tanstack/react-router'
import { getTetherServer } from '../../../../lib/tether-server'

// Everything below /api/sessions/ (:id, :id/messages, :id/terminate, :id/join, stats).
const handler = ({ request }: { request: Request }) => getTetherServer().fetch(request)

export const Route = createFileRoute('/api/sessions/$')({
  server: {
    handlers: { GET: handler, POST: handler, PATCH: handler, DELETE: handler, OPTIONS: handler },
  },
})
