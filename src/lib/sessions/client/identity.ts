/**
 * Who this browser is in a session. With a personal token the token's subject is the user id
 * (the server only accepts our writes under it); otherwise (admin, auth off) a per-browser id
 * kept in localStorage. The display name and colour are the person's choice, kept locally.
 */
import type { Identity } from './actions'
import { decodeToken } from './auth'

const KEY = 'tether.identity'
const PALETTE = ['#e5484d', '#f76b15', '#ffc53d', '#46a758', '#12a594', '#0090ff', '#3e63dd', '#8e4ec6', '#d6409f']
const ADJECTIVES = ['Swift', 'Quiet', 'Bright', 'Clever', 'Kind', 'Bold', 'Calm', 'Keen']
const ANIMALS = ['Otter', 'Falcon', 'Lynx', 'Heron', 'Fox', 'Badger', 'Wren', 'Orca']

export function colorFor(id: string): string {
  let hash = 0
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0
  return PALETTE[hash % PALETTE.length]
}

interface StoredIdentity {
  userId: string
  displayName: string
  color?: string
}

function loadStored(): StoredIdentity | undefined {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? 'null') as StoredIdentity | null
    if (parsed && typeof parsed.userId === 'string' && typeof parsed.displayName === 'string') return parsed
  } catch {
    // no storage, or junk in it
  }
  return undefined
}

export function saveDisplayName(displayName: string): void {
  const current = loadStored() ?? newStored()
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...current, displayName }))
  } catch {
    // storage unavailable: the name lasts for this page only
  }
}

function newStored(): StoredIdentity {
  const n = crypto.getRandomValues(new Uint32Array(2))
  return {
    userId: `u-${crypto.randomUUID().slice(0, 8)}`,
    displayName: `${ADJECTIVES[n[0] % ADJECTIVES.length]} ${ANIMALS[n[1] % ANIMALS.length]}`,
  }
}

export function resolveIdentity(token: string | undefined): Identity {
  let stored = loadStored()
  if (!stored) {
    stored = newStored()
    try {
      localStorage.setItem(KEY, JSON.stringify(stored))
    } catch {
      // storage unavailable
    }
  }
  const info = decodeToken(token)
  const personal = info?.sub && info.role !== 'admin' ? info.sub : undefined
  const userId = personal ?? stored.userId
  const displayName = (personal && info?.name) || stored.displayName
  return { userId, displayName, color: stored.color ?? colorFor(userId) }
}
