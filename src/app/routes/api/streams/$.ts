import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// Every path below /api/streams/ is a Durable Streams stream path; the app decides the rest.
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/streams/$')({
  server: {
    handlers: { GET: handler, POST: handler, PUT: handler, DELETE: handler, HEAD: handler, OPTIONS: handler },
  },
})
