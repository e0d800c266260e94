import { createFileRoute } from '@tanstack/react-router'
import { getTetherServer } from '../../../../lib/tether-server'

// `/api/sessions`: list (GET) and create (POST); the app does the rest.
const handler = ({ request }: { request: Request }) => getTetherServer().fetch(request)

export const Route = createFileRoute('/api/sessions/')({
  server: { handlers: { GET: handler, POST: handler, OPTIONS: handler } },
})
