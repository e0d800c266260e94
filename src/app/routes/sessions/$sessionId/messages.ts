import { createFileRoute } from '@tanstack/react-router'
import { handleComposerPost } from '../../../composer-post'

/**
 * POST /sessions/:id/messages: the server-rendered composer's native Send (composer-post.ts).
 * A GET (a reload of the refusal page's address, a typed URL) goes back to the session page.
 */
export const Route = createFileRoute('/sessions/$sessionId/messages')({
  server: {
    handlers: {
      POST: ({ request, params }) => handleComposerPost(request, params.sessionId),
      GET: ({ params }) => new Response(null, { status: 303, headers: { location: `/sessions/${encodeURIComponent(params.sessionId)}` } }),
    },
  },
})
