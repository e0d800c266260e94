import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// `POST /api/streams?sessionId=…`: the session event writer.
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/streams/')({
  server: { handlers: { POST: handler, OPTIONS: handler } },
})
