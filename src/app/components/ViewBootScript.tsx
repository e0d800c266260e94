import { useRouter } from '@tanstack/react-router'
import { VIEW_BOOT_SCRIPT } from '../../lib/sessions/client/session-view'

/**
 * Asks for the session's view while the HTML is parsed, before the page's modules load (see
 * VIEW_BOOT_SCRIPT); the page adopts the answer. Under the response's CSP nonce, as the root's
 * theme script is. Rendered by the session page and the terminal page.
 */
export function ViewBootScript() {
  const nonce = useRouter().options.ssr?.nonce
  // biome-ignore lint/security/noDangerouslySetInnerHtml: VIEW_BOOT_SCRIPT is our own constant (nothing from input), run under the page's nonce
  return <script nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: VIEW_BOOT_SCRIPT }} />
}
