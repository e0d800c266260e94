import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../../../lib/tether-server-entry'

// /api/auth/logout: sign-in through an identity provider (src/lib/accounts/sign-in-api.ts); the app answers every method.
const handler = ({ request }: { request: Request }) => handleTetherRequest(request)

export const Route = createFileRoute('/api/auth/logout')({
  server: { handlers: { GET: handler, POST: handler } },
})
