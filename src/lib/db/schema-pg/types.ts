/** Column types drizzle's pg-core lacks: `bytea` as a Node Buffer (stream message bodies). */
import { customType } from 'drizzle-orm/pg-core'

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
})
