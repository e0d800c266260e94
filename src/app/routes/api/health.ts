import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../lib/tether-server-entry'

export const Route = createFileRoute('/api/health')({
  server: { handlers: { GET: ({ request }) => handleTetherRequest(request) } },
})
