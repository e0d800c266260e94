import { createFileRoute } from '@tanstack/react-router'
import { getTetherApp } from '../../../../lib/app'

// `/api/sessions`: list (GET) and create (POST); the app does the rest.
const handler = ({ request }: { request: Request }) => getTetherApp().fetch(request)

export const Route = createFileRoute('/api/sessions/')({
  server: { handlers: { GET: handler, POST: handler, OPTIONS: handler } },
})
