import { z } from 'zod'

/**
 * Process configuration from the environment, parsed once with zod. Other areas add their own
 * fields here; keep every field optional-with-default so a bare `npm run streams` works.
 */
const intFromEnv = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a non-negative integer')
    .transform(Number)
    .optional()
    .transform((v) => v ?? fallback)

const envSchema = z.object({
  PORT: intFromEnv(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TETHER_DATA_DIR: z.string().min(1).default('./data'),
  TETHER_LONG_POLL_TIMEOUT_MS: intFromEnv(30_000),
  TETHER_MAX_BODY_BYTES: intFromEnv(16 * 1024 * 1024),
  TETHER_RETENTION_DAYS: intFromEnv(30),
  TETHER_DURABILITY: z.enum(['normal', 'fsync']).default('normal'),
  /** Allow subscription webhooks to loopback targets (development and tests only). */
  TETHER_ALLOW_LOOPBACK_WEBHOOKS: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
})

export type TetherConfig = z.infer<typeof envSchema>

export function loadConfig(env: NodeJS.ProcessEnv = process.env): TetherConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new Error(`Invalid configuration: ${reasons}`)
  }
  return parsed.data
}
