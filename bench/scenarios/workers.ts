/** Worker start time (bench/workers.ts): not a streams-server measurement, runs once on ours. */
import { measureWorkerStartTimes } from '../workers'
import type { Scenario } from './types'

export const workerStart: Scenario = {
  id: 'workers',
  title: 'agent worker start: session created → first agent-state heartbeat (median)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'dockerCold', label: 'docker cold', unit: 'ms', better: 'lower', target: { op: '<', value: 1500 }, digits: 0 },
    { key: 'dockerWarm', label: 'docker warm claim', unit: 'ms', better: 'lower', target: { op: '<', value: 100 }, digits: 0 },
    { key: 'processCold', label: 'process cold', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'processWarm', label: 'process warm claim', unit: 'ms', better: 'lower', digits: 0 },
  ],
  async run({ quick, log }) {
    const t = await measureWorkerStartTimes({ samples: quick ? 3 : 5, log })
    return { dockerCold: t.dockerCold, dockerWarm: t.dockerWarm, processCold: t.processCold, processWarm: t.processWarm }
  },
}
