// A folder picked in the desktop app's native dialog (a model folder, the interpolation model
// slot): main opens the dialog and hands back the chosen path, or null when the person
// cancelled; the web host has no such dialog (a browser cannot hand over a folder's path) and
// says to type the path. The picked path still goes through models.add / the slot's own checks.
import { describe, expect, it } from 'vitest'
import { createDispatcher } from '../../src/main/services/dispatch'
import { createHandlers, type HandlerContext } from '../../src/main/services/handlers'

function dispatchWith(pickFolder?: HandlerContext['pickFolder']) {
  const ctx = { ...(pickFolder ? { pickFolder } : {}) } as unknown as HandlerContext
  return createDispatcher(createHandlers(ctx))
}

describe('app.pickFolder', () => {
  it("answers the dialog's folder, or null when cancelled, saying what it is for", async () => {
    const asked: string[] = []
    const dispatch = dispatchWith(async (purpose) => {
      asked.push(purpose)
      return purpose === 'model' ? '/home/me/models/ad' : null
    })
    expect(await dispatch('app.pickFolder', { purpose: 'model' })).toEqual({
      ok: true,
      value: { path: '/home/me/models/ad' },
    })
    expect(await dispatch('app.pickFolder', { purpose: 'interpolation-model' })).toEqual({
      ok: true,
      value: { path: null },
    })
    expect(asked).toEqual(['model', 'interpolation-model'])
  })

  it('refuses an unknown purpose, and the web host says to type the path', async () => {
    const bad = await dispatchWith(async () => '/x')('app.pickFolder', { purpose: '/etc' })
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-payload' } })
    const web = await dispatchWith()('app.pickFolder', { purpose: 'model' })
    expect(web).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/type the folder's path/) },
    })
  })
})
