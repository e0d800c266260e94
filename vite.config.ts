import { defineConfig } from 'vite'
import { tanstackStart } from '@tanstack/react-start/plugin/vite'
import viteReact from '@vitejs/plugin-react'

const nativeServerDeps = ['better-sqlite3', 'dockerode', 'docker-modem', 'ssh2', 'cpu-features', '@lydell/node-pty', 'esbuild']

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
  plugins: [tanstackStart({ srcDirectory: 'src/app', router: { routesDirectory: 'routes' } }), viteReact()],
})
