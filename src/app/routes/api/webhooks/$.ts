import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// :id, :id/deliveries, :id/deliveries/:eventId/replay, jwks.json (src/lib/ops/webhooks-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/webhooks/$')({
  server: { handlers: { GET: handler, POST: handler, DELETE: handler, OPTIONS: handler } },
})
