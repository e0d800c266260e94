import { createFileRoute } from '@tanstack/react-router'
import { handleTetherRequest } from '../../lib/tether-server-entry'

// Prometheus scrapes this (src/lib/ops/metrics.ts): an admin token or TETHER_METRICS_TOKEN.
export const Route = createFileRoute('/metrics')({
  server: { handlers: { GET: ({ request }) => handleTetherRequest(request) } },
})
