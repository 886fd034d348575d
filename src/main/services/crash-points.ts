// Fault injection for the reliability suite: with DOLLY_CRASH_AT=<point> in its environment,
// the process kills itself with SIGKILL when it reaches that point, so a test can check what a
// crash exactly there leaves behind. Unset (always, outside tests), it does nothing.
export function crashPoint(point: string): void {
  if (process.env['DOLLY_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL')
}
