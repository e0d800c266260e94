import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// /api/users/:id/quotas: a person's quotas and usage (src/lib/accounts/quotas-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/users/$')({
  server: { handlers: { GET: handler, PUT: handler } },
})
