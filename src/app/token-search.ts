/** The `?token=` a page accepts (an admin or share token); anything else is dropped. */
export interface TokenSearch {
  token?: string
}

export function parseTokenSearch(search: Record<string, unknown>): TokenSearch {
  return typeof search.token === 'string' && search.token ? { token: search.token } : {}
}

/** Search params that carry the page's `?token=` on to a link (none when the page had none). */
export function tokenSearch(urlToken: string | undefined): TokenSearch {
  return urlToken ? { token: urlToken } : {}
}
