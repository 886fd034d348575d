import { describe, expect, it } from 'vitest'
import { clock } from '../../src/shared/duration'
import { progressLine } from '../../src/main/cli/index'

describe('clock (the ETA in the jobs panel and the CLI)', () => {
  it('rounds the whole duration, so seconds never read 60', () => {
    expect(clock(59.6)).toBe('1:00') // read 0:60 before
    expect(clock(119.5)).toBe('2:00') // read 1:60 before
    expect(clock(61.2)).toBe('1:01')
    expect(clock(0)).toBe('0:00')
    expect(clock(3725)).toBe('62:05')
  })

  it("is what the CLI's progress line prints", () => {
    const line = progressLine({ stage: 'denoise', step: 3, steps: 25, itPerSec: 1.2, etaS: 59.7 })
    expect(line).toContain('ETA 1:00')
  })
})
