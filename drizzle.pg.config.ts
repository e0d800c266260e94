import { defineConfig } from 'drizzle-kit'

// PostgreSQL (issue #14, specs/scale-out.md): the same tables as drizzle.config.ts's SQLite schema,
// migrations in drizzle/pg/. `npm run db:generate:pg` after changing src/lib/db/schema-pg/.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/lib/db/schema-pg/*.ts',
  out: './drizzle/pg',
})
