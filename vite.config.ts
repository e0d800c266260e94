import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import { defineConfig, type Plugin } from 'vite'
import { tanstackStart } from '@tanstack/react-start/plugin/vite'
import viteReact from '@vitejs/plugin-react'

const nativeServerDeps = ['better-sqlite3', 'dockerode', 'docker-modem', 'ssh2', 'cpu-features', '@lydell/node-pty', 'esbuild']

/**
 * The browser's files compressed once, at build time: `<file>.br` (brotli 11) and `<file>.gz`
 * (gzip 9) beside each script, style sheet and SVG of 1 KiB or more, which src/server/main.ts serves
 * as they are. Otherwise srvx compresses every response again (brotli 4): 50-90 ms of server CPU
 * for the session page's scripts on each cold open (specs/benchmarks.md).
 */
function precompress(): Plugin {
  const compressible = /\.(js|mjs|css|svg|json|txt)$/
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
  return {
    name: 'tether-precompress',
    apply: 'build',
    applyToEnvironment: (environment) => environment.name === 'client',
    writeBundle(options) {
      if (!options.dir) return
      for (const file of walk(options.dir)) {
        if (!compressible.test(file)) continue
        const data = readFileSync(file)
        if (data.length < 1024) continue
        writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length } }))
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }))
      }
    },
  }
}

export default defineConfig({
  server: {
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
    // Production answers CORS preflights itself (the streams handler); dev must do the same.
    cors: false,
  },
  // Native addons (SQLite, Docker's ssh transport, the worker pty) stay plain Node requires on the
  // server; the dev dependency optimiser cannot bundle .node files.
  // The client dep scan crawls route files, server handlers included, so it sees these too.
  optimizeDeps: { exclude: nativeServerDeps },
  environments: {
    ssr: {
      resolve: { external: nativeServerDeps },
      optimizeDeps: { exclude: nativeServerDeps },
    },
  },
  plugins: [tanstackStart({ srcDirectory: 'src/app', router: { routesDirectory: 'routes' } }), viteReact(), precompress()],
})
