/**
 * `npm run worker:image`: builds the worker container image without a registry (bundle + rootfs
 * from this host + docker import). `--force` rebuilds an existing image; `--bundle-only`
 * (`npm run worker:bundle`) only writes dist/worker/worker.cjs.
 * The engine comes from DOCKER_HOST or the default socket (start one: bash scripts/docker-engine.sh).
 * With a registry: docker build -f src/worker/Dockerfile -t tether-worker:latest .  (after worker:bundle)
 */
import { bundleWorker } from '../src/lib/workers/image/bundle'
import { ensureWorkerImage } from '../src/lib/workers/image/build'

const args = new Set(process.argv.slice(2))
try {
  if (args.has('--bundle-only')) {
    console.log(await bundleWorker({ force: true }))
  } else {
    const started = Date.now()
    const image = await ensureWorkerImage({ force: args.has('--force'), log: (m) => console.error(m) })
    console.log(`${image.ref} (${image.built ? `built in ${Date.now() - started} ms` : 'up to date'})`)
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
}
