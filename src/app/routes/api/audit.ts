import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../lib/tether-server-entry'

// The audit log, admin only (src/lib/ops/audit.ts).
export const Route = createFileRoute('/api/audit')({
  server: { handlers: { GET: ({ request }) => handleTetherRequest(request) } },
})
