import { defineConfig } from 'vitest/config'

// Test workers are forked from here and inherit this: glibc then serves allocations of 128 KiB
// and more with mmap and returns them on free, so a process's RSS follows its live memory.
// The decode-memory test compares RSS peaks between runs; without this, pages freed by one
// run and kept by the allocator hide the next run's growth.
process.env['MALLOC_MMAP_THRESHOLD_'] ??= '131072'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
