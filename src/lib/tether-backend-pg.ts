/**
 * The app's backend on PostgreSQL (issue 14, specs/scale-out.md): the streams server of
 * streams/pg and each store's PostgreSQL twin, on one connection pool. Any number of nodes may
 * open the same database; what must agree between them and cannot live in it (the token secret,
 * the credentials key) comes from the environment, the same on every node.
 */
import { credentialCipher, type CredentialCipher } from './accounts/credential-cipher'
import { PgAccountStore } from './accounts/account-store-pg'
import { PgProfileStore } from './accounts/profile-store-pg'
import { PgQuotaStore } from './accounts/quotas-store-pg'
import { openPostgres } from './db/postgres'
import { PgModelLedger, withLedgerUsage } from './gateway'
import { pgMetricsReader } from './ops/metrics-db-pg'
import { pgDatabaseWritable, pgMigrationsApplied } from './ops/readiness-pg'
import { createPgStatsSummaryHandler } from './ops/stats-summary-pg'
import { PgWebhookStore } from './ops/webhooks-store-pg'
import { pgLoginCodeStore } from './sessions/login-codes-pg'
import { PgSessionStore } from './sessions/session-store-pg'
import { loadOrCreateSecret } from './sessions/secret'
import type { TokenSecret } from './sessions/tokens'
import { createPgStreamsServer, type PgStreamsServer } from './streams/pg/pg-streams-server'
import { sharedSigningKeys } from './streams/pg/pg-subscriptions'
import { WebhookSigner } from './streams/subscriptions/signing'
import { builtInStreamsOptions, type BackendConfig, type TetherBackend } from './tether-backend'
import { pgLeaseStore } from './workers/session-leases-sql'
import { pgViewCheckpoints } from './sessions/view-checkpoints'

/**
 * Settings every node must share, checked before anything opens: a node that disagrees would
 * refuse the others' tokens. The secret's and the key's own checks are those of one node
 * (loadOrCreateSecret, credentialCipher); only the file fallback is refused.
 */
function sharedSecrets(config: BackendConfig): { secret: TokenSecret; cipher: CredentialCipher } {
  const missing = [!config.secret && 'TETHER_SECRET', !config.credentialsKey && 'TETHER_CREDENTIALS_KEY'].filter(Boolean)
  if (missing.length > 0) {
    throw new Error(
      `with TETHER_DATABASE_URL every node must share ${missing.join(' and ')} (set the same value on each node; ` +
        'a data-dir file would give each node its own, and tokens or agent credentials made on one would fail on the others)',
    )
  }
  return { secret: loadOrCreateSecret(config.dataDir, config.secret), cipher: credentialCipher(config.dataDir, config.credentialsKey) }
}

export async function openPgBackend(config: BackendConfig & { databaseUrl: string }): Promise<TetherBackend> {
  const { now, logger } = config
  const { secret, cipher } = sharedSecrets(config)
  const pg = await openPostgres(config.databaseUrl)
  let streams: PgStreamsServer | null = null
  try {
    if (!config.streamsUrl) {
      streams = await createPgStreamsServer({
        pg,
        ...builtInStreamsOptions(config),
        subscriptions:
          config.subscriptions === false
            ? false
            : { allowLoopbackWebhooks: config.allowLoopbackWebhooks, log: logger.child({ component: 'subscriptions' }) },
      })
    }
    const ledger = new PgModelLedger(pg.db, now)
    const keys = await sharedSigningKeys(pg.db, now())
    return {
      engine: 'postgres',
      sharedWithOtherNodes: true,
      streams,
      sqliteStreams: null,
      secret,
      cipher,
      sessions: withLedgerUsage(new PgSessionStore(pg.db), ledger),
      ledger,
      accounts: new PgAccountStore(pg.db, now),
      profiles: new PgProfileStore(pg.db, cipher, now),
      quotas: new PgQuotaStore(pg.db, config.quotaDefaults, now),
      webhooks: new PgWebhookStore(pg.db, now),
      webhookSigner: new WebhookSigner(keys),
      loginCodes: pgLoginCodeStore(pg.sql, now),
      leases: pgLeaseStore(pg.sql),
      viewCheckpoints: pgViewCheckpoints(pg.sql, now),
      rateLimitDb: pg.db,
      statsSummary: createPgStatsSummaryHandler(pg.sql, now),
      metrics: { reader: pgMetricsReader(pg.sql), file: null },
      readiness: async () => [await pgDatabaseWritable(config.databaseUrl), await pgMigrationsApplied(pg.sql, pg.migrationsFolder)],
      async close() {
        await streams?.close()
        await pg.close()
      },
    }
  } catch (err) {
    await streams?.close()
    await pg.close()
    throw err
  }
}
