import { defineConfig } from 'vite'
import { tanstackStart } from '@tanstack/react-start/plugin/vite'
import viteReact from '@vitejs/plugin-react'

export default defineConfig({
  server: {
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
    // Production answers CORS preflights itself (the streams handler); dev must do the same.
    cors: false,
  },
  plugins: [tanstackStart({ srcDirectory: 'src/app', router: { routesDirectory: 'routes' } }), viteReact()],
})
