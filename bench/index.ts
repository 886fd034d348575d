// `npm run bench`: prints one JSON object with every figure.
import { cpus, totalmem } from 'node:os'
import { exportOverhead } from './export'
import { longTakeBench } from './longtake'
import { memoryPlans } from './memory'
import { stepOverhead } from './step-overhead'
import { wanDecodeMemory } from './wan-decode'

const started = Date.now()
const result = {
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
  },
  svd_xt_step: stepOverhead(25),
  svd_xt_step_fp16_io: stepOverhead(25, true),
  mp4_export_25x1024x576: await exportOverhead(),
  wan_vae_decode_memory: wanDecodeMemory(),
  long_takes: longTakeBench(),
  memory_plans: memoryPlans(),
  wall_s: 0,
}
result.wall_s = Number(((Date.now() - started) / 1000).toFixed(1))
console.log(JSON.stringify(result, null, 2))
