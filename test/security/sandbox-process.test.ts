/**
 * Issue #8, process runtime: a collaborator (share link) types into the session's terminal and
 * asks the echo agent to run shell commands (`/run …`). Through the production build with the
 * process runtime and the default sandbox (bwrap), nothing they run may reveal the token signing
 * secret (a file in the data dir), the worker token (in the worker's environment), a provider key
 * (the server's environment), another session's work dir or a service on the host's loopback (the
 * server's own port); an ordinary command still works.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workRootFor } from '../../src/lib/workers/runtimes/process'
import { issueToken, secretFromString } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { securityClient, workerToken, type Collaboration, type SecurityClient } from './support'

const FAKE_PROVIDER_KEY = 'sk-ant-fake-provider-key-for-the-process-sandbox-test-9876543210'
const OTHER_SESSION_WORDS = 'words-of-another-session-7f3a'

let server: ProductionServer
let client: SecurityClient
let secret = ''

/** A session with a worker, a collaborator who joined through the share link, and the worker's token. */
async function sessionWithWorker(title: string): Promise<Collaboration & { token: string }> {
  const made = await client.sessionWithCollaborator({ title, agent: { model: 'echo' } }, { awaitWorker: true })
  const token = await client.waitFor('the worker process', async () => workerToken(made.id), 10_000)
  return { ...made, token }
}

function leaks(text: string, workerTokens: string[]): string[] {
  const found: string[] = []
  if (text.includes(secret)) found.push('signing secret')
  if (text.includes(FAKE_PROVIDER_KEY)) found.push('provider key')
  if (text.includes('TETHER_WORKER_TOKEN')) found.push('worker token variable')
  for (const token of workerTokens) if (text.includes(token)) found.push('worker token')
  if (text.includes(OTHER_SESSION_WORDS)) found.push("another session's files")
  return found
}

beforeAll(async () => {
  server = await startProductionServer({
    TETHER_WORKER_RUNTIME: 'process',
    TETHER_WARM_POOL_SIZE: '0',
    ANTHROPIC_API_KEY: FAKE_PROVIDER_KEY,
  })
  // TETHER_SECRET unset: the server keeps its secret in the data dir, the file to go after.
  secret = readFileSync(join(server.dataDir, 'secret'), 'utf8').trim()
  client = securityClient(server, await issueToken(secretFromString(secret), { role: 'admin', subject: 'admin-user' }))
}, 300_000)

afterAll(async () => {
  await server?.dispose()
})

describe('process worker sandbox, as a collaborator', { timeout: 180_000 }, () => {
  let other: { id: string; token: string }
  let otherDir = ''
  let probes: string[] = []

  beforeAll(async () => {
    // Another session first: its work dir is then the only one, and gets words to steal.
    const made = await sessionWithWorker('other')
    other = { id: made.id, token: made.token }
    const workRoot = workRootFor(server.dataDir)
    const dirs = readdirSync(workRoot)
    expect(dirs).toHaveLength(1)
    otherDir = join(workRoot, dirs[0]!)
    writeFileSync(join(otherDir, 'notes.txt'), OTHER_SESSION_WORDS)
    expect(workRoot.startsWith(server.dataDir)).toBe(false)
    probes = [
      `cat ${join(server.dataDir, 'secret')}`,
      `ls -la ${server.dataDir}`,
      'cat ../../secret ../secret',
      'cat /proc/1/environ; echo',
      'cat /proc/$PPID/environ; echo',
      'cat /proc/*/environ; echo',
      'env',
      `(exec 3<>/dev/tcp/127.0.0.1/${server.port} && printf 'GET /api/health HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3); echo tcp-exit=$?`,
      `ls -la ${otherDir}; cat ${otherDir}/*`,
    ]
  }, 120_000)

  it('in the terminal: none of the probes reveals a secret, and echo still works', async () => {
    const session = await sessionWithWorker('terminal')
    const output = await client.typeInTerminal(session, [...probes, 'echo $((40+2))ok'], '42ok')
    expect(output).toMatch(/tcp-exit=[1-9]/)
    expect(output).not.toMatch(/HTTP\/1\.[01] 200/)
    expect(leaks(output, [session.token, other.token])).toEqual([])
  })

  it('through the agent’s shell tool (/run): none of the probes reveals a secret, and echo still works', async () => {
    const { id, collaborator, token } = await sessionWithWorker('shell tool')
    const commands = [...probes, 'echo $((40+2))ok']
    for (const command of commands) {
      const res = await client.api(`/api/sessions/${id}/messages`, collaborator, { text: `/run ${command}` })
      expect(res.ok).toBe(true)
    }
    const calls = await client.waitFor('every shell call to finish', async () => {
      const all = (await client.events(id, collaborator)).filter((e) => e.type === 'tool-call')
      const latest = new Map(all.map((e) => [e.key, e.value]))
      const done = [...latest.values()].filter((v) => v.status === 'succeeded' || v.status === 'failed')
      return done.length === commands.length && done
    })
    const outputs = calls.map((c) => JSON.stringify(c.output ?? c.error ?? ''))
    expect(outputs.some((o) => o.includes('42ok'))).toBe(true)
    expect(outputs.some((o) => /tcp-exit=[1-9]/.test(o))).toBe(true)
    // Everything the collaborator can read: tool results and the agent's replies quoting them.
    const everything = JSON.stringify(await client.events(id, collaborator))
    expect(leaks(everything, [token, other.token])).toEqual([])
  })
})
