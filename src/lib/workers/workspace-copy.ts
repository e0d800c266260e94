/**
 * File copies for workspace snapshots and seeding, with the host's own tools: `cp -a` keeps modes,
 * owners, times and symlinks as they are (a symlink is copied as a link, never followed, so a
 * link to /etc/shadow in a work dir copies the link, not the file) and shares blocks on
 * filesystems that can (`--reflink=auto`); `tar` moves a tree into or out of a container.
 */
import { spawn } from 'node:child_process'
import { type Readable, Transform } from 'node:stream'

function run(cmd: string, args: string[], input?: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')))
    child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')))
    child.once('error', reject)
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.trim()}`)),
    )
    if (input && child.stdin) {
      child.stdin.on('error', () => {})
      input.on('error', (e) => child.kill('SIGKILL') && reject(e))
      input.pipe(child.stdin)
    }
  })
}

/** Apparent size of a tree in bytes (what a copy of it stores). */
export async function dirBytes(dir: string): Promise<number> {
  const out = await run('du', ['-s', '-b', dir])
  return Number(out.split(/\s+/)[0] ?? 0)
}

/** Copies the contents of `src` into the existing dir `dest`. */
export async function copyTree(src: string, dest: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', '--no-target-directory', `${src}/.`, dest])
}

/** A tar stream of the contents of `dir` (paths `./…`), for a container's putArchive. */
export function tarOf(dir: string): Readable {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'ignore'] })
  return child.stdout
}

export class ArchiveTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`archive over ${bytes} bytes`)
  }
}

/**
 * Extracts a tar stream into `dest`, dropping the first `strip` path components (a container
 * archive of /work holds `work/…`). Stops with an error once more than `limit` bytes arrived.
 */
export async function untarInto(archive: Readable, dest: string, strip: number, limit: number): Promise<number> {
  let bytes = 0
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length
      done(bytes > limit ? new ArchiveTooLargeError(bytes) : null, chunk)
    },
  })
  archive.on('error', (err) => counted.destroy(err))
  archive.pipe(counted)
  await run('tar', ['-x', '-f', '-', '-C', dest, `--strip-components=${strip}`], counted)
  return bytes
}
