import { defineConfig } from 'vitest/config'

// Kept apart from vite.config.ts so tests never load the TanStack Start plugin.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
})
