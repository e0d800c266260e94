import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// Personal API keys: list and create (the signed-in person; src/lib/accounts/keys-api.ts).
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/keys/')({
  server: { handlers: { GET: handler, POST: handler, DELETE: handler } },
})
