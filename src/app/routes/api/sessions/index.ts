import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// `/api/sessions`: list (GET) and create (POST); the app does the rest.
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/sessions/')({
  server: { handlers: { GET: handler, POST: handler, OPTIONS: handler } },
})
