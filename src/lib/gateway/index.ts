/** The model gateway: the only place provider keys live (see specs/gateway.md). */
export { createModelGateway, type ModelGateway, type ModelGatewayOptions } from './handler'
export { ModelLedger } from './ledger'
export { LedgerSessionStore } from './usage-store'
