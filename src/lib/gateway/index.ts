/** The model gateway: the only place provider keys live (see specs/gateway.md). */
export { createModelGateway, type ModelGateway, type ModelGatewayOptions } from './handler'
export { ModelLedger, type Ledger, type LedgerTotals, type Reservation, type Settlement } from './ledger'
export { PgModelLedger } from './ledger-pg'
export { LedgerSessionStore, withLedgerUsage } from './usage-store'
