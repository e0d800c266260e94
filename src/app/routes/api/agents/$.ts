import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// /api/agents/:id: read, change or delete one agent profile (src/lib/accounts/profiles-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/agents/$')({
  server: { handlers: { GET: handler, POST: handler, PATCH: handler, DELETE: handler } },
})
