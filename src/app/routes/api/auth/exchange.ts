import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// POST /api/auth/exchange {code}: a one-time admin link's code for an admin token (the app answers).
export const Route = createFileRoute('/api/auth/exchange')({
  // GET answers 405 from the app rather than falling through to the page router.
  server: { handlers: { POST: ({ request }) => handleTetherRequest(request), GET: ({ request }) => handleTetherRequest(request) } },
})
