import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// The protocol's conventional mount: the same streams (and auth) as /api/streams/.
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/v1/stream/$')({
  server: {
    handlers: { GET: handler, POST: handler, PUT: handler, DELETE: handler, HEAD: handler, OPTIONS: handler },
  },
})
