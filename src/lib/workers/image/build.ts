/**
 * Builds the worker image without a registry: bundle the worker, assemble a root filesystem from
 * this host (rootfs.ts), stream it through `tar` into the engine's image import (what `docker
 * import` does), and tag it `tether-worker:<content hash>` plus `tether-worker:latest`. An image
 * whose content hash already exists is reused, so calling `ensureWorkerImage` is cheap.
 *
 * With a registry, src/worker/Dockerfile builds an equivalent image from node:20-bookworm-slim.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { connectDocker } from '../docker-engine'
import { bundleWorker } from './bundle'
import { WORKER_GID, WORKER_UID, assembleRootfs, planRootfs, rootfsFingerprintInputs } from './rootfs'

export const WORKER_IMAGE_REPO = 'tether-worker'
/** Bump when the image layout (paths, /etc, entrypoint) changes without the inputs changing. */
const LAYOUT_VERSION = 'rootfs-4'
export const WORKER_IMAGE_LABEL = 'tether.worker-image'

export interface WorkerImageOptions {
  docker?: Docker
  /** Rebuild even when an image with the same content hash exists. */
  force?: boolean
  repo?: string
  log?: (message: string) => void
}

export interface WorkerImage {
  /** `tether-worker:<hash>` */
  ref: string
  built: boolean
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect()
    return true
  } catch {
    return false
  }
}

/** Waits for the engine's progress stream to end; rejects on an error message in it. */
function drainProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
      const failed = output?.find((o) => o.error)
      if (err) reject(err)
      else if (failed) reject(new Error(`image import failed: ${failed.error}`))
      else resolve()
    })
  })
}

/**
 * Serialises image builds across processes (vitest runs test files in parallel forks): one
 * builder at a time, the others wait and then find the image already there.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lockPath = join(tmpdir(), 'tether-worker-image.lock')
  const deadline = Date.now() + 10 * 60_000
  for (;;) {
    try {
      closeSync(openSync(lockPath, 'wx'))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // A lock older than 10 minutes belongs to a builder that died.
      try {
        if (Date.now() - statSync(lockPath).mtimeMs > 10 * 60_000) rmSync(lockPath, { force: true })
      } catch {
        /* removed meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the worker image build lock ${lockPath}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lockPath, { force: true })
  }
}

/** The image for the current worker code, built if missing. */
export async function ensureWorkerImage(options: WorkerImageOptions = {}): Promise<WorkerImage> {
  const log = options.log ?? (() => {})
  const docker = options.docker ?? (await connectDocker())
  const repo = options.repo ?? WORKER_IMAGE_REPO
  const bundlePath = await bundleWorker()
  const plan = planRootfs()
  const hash = createHash('sha256')
  for (const part of rootfsFingerprintInputs(plan, bundlePath, LAYOUT_VERSION)) hash.update(part)
  const fingerprint = hash.digest('hex')
  const ref = `${repo}:${fingerprint.slice(0, 12)}`

  if (!options.force && (await imageExists(docker, ref))) return { ref, built: false }
  return withBuildLock(async () => {
    if (!options.force && (await imageExists(docker, ref))) return { ref, built: false }
    const root = mkdtempSync(join(tmpdir(), 'tether-worker-rootfs-'))
    try {
      log(
        `assembling rootfs in ${root} (node ${plan.nodeVersion}, ${Object.keys(plan.tools).length} tools, ${plan.libraries.length} libraries)`,
      )
      assembleRootfs(root, plan, bundlePath)
      const tar = spawn('tar', ['--numeric-owner', '-C', root, '-cf', '-', '.'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const tarDone = new Promise<void>((resolve, reject) => {
        tar.on('error', reject)
        tar.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))))
      })
      log(`importing ${ref}`)
      const progress = await docker.importImage(tar.stdout, {
        repo,
        tag: fingerprint.slice(0, 12),
        changes: [
          'ENV PATH=/usr/local/bin:/usr/bin:/bin',
          'ENV HOME=/work',
          'ENV TETHER_WORK_DIR=/work',
          'WORKDIR /work',
          `USER ${WORKER_UID}:${WORKER_GID}`,
          'ENTRYPOINT ["/usr/local/bin/node", "/app/worker.cjs"]',
          `LABEL ${WORKER_IMAGE_LABEL}=${fingerprint}`,
        ],
      })
      await Promise.all([drainProgress(docker, progress), tarDone])
      await docker.getImage(ref).tag({ repo, tag: 'latest' })
      log(`built ${ref}`)
      return { ref, built: true }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
}
