import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../lib/tether-server-entry'

export const Route = createFileRoute('/api/ready')({
  server: { handlers: { GET: ({ request }) => handleTetherRequest(request) } },
})
