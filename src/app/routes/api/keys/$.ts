import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// /api/keys/:id: revoke a personal API key (src/lib/accounts/keys-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/keys/$')({
  server: { handlers: { GET: handler, DELETE: handler } },
})
