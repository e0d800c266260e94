import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// Everything below /api/sessions/ (:id, :id/messages, :id/terminate, :id/join, stats).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/sessions/$')({
  server: {
    handlers: { GET: handler, POST: handler, PATCH: handler, DELETE: handler, OPTIONS: handler },
  },
})
