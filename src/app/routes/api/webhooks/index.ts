import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// Lifecycle webhook endpoints (admin; src/lib/ops/webhooks-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/webhooks/')({
  server: { handlers: { GET: handler, POST: handler, OPTIONS: handler } },
})
