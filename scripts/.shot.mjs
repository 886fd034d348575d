import { chromium } from 'playwright'
import { spawn } from 'node:child_process'
const root = '/work/main'
const srv = spawn('node', [root + '/out/main/serve.js', '--port', '0', '--json'], { env: { ...process.env, DOLLY_STATE_DIR: '/tmp/shot-state', DOLLY_CACHE_DIR: '/tmp/shot-cache', DOLLY_PROJECTS_DIR: '/tmp/shot-proj', HF_HUB_CACHE: process.env.SHOT_HUB ?? '/tmp/none' } })
const info = await new Promise((res) => srv.stdout.once('data', (d) => res(JSON.parse(String(d)))))
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'] })
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
await page.goto(info.url)
await page.getByTestId('engine-state').filter({ hasText: 'ready' }).waitFor({ timeout: 30000 })
const steps = JSON.parse(process.env.SHOT_STEPS ?? '[]')
for (const s of steps) {
  if (s.click) await page.getByTestId(s.click).first().click()
  if (s.wait) await page.getByTestId(s.wait).first().waitFor({ timeout: 20000 })
  if (s.sleep) await page.waitForTimeout(s.sleep)
  if (s.scrollLast) await page.getByTestId(s.scrollLast).last().scrollIntoViewIfNeeded()
}
await page.screenshot({ path: process.env.SHOT_OUT ?? '/tmp/shot.png', fullPage: false })
await browser.close(); srv.kill()
