// Both hosts take their folders from hostFolders: the environment's choice where set (the desktop
// app used to ignore DOLLY_PROJECTS_DIR, DOLLY_MODELS_DIR, DOLLY_STATE_DIR and DOLLY_CACHE_DIR),
// else the host's own default; the demo model first, then DOLLY_MODEL_DIRS.
import { delimiter, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hostFolders } from '../../src/main/services/compose'

const defaults = {
  stateDir: '/home/u/.state',
  cacheDir: '/home/u/.cache/renders',
  projectsDir: '/home/u/Documents/Dolly Projects',
  modelsDir: '/home/u/Documents/Dolly Models',
  demoModel: '/app/resources/demo-model',
}

describe('hostFolders', () => {
  it("keeps the host's defaults when nothing is set", () => {
    const { demoModel, ...dirs } = defaults
    expect(hostFolders({}, defaults)).toEqual({ ...dirs, builtInModels: [demoModel] })
  })

  it('takes each folder from the environment, made absolute', () => {
    const f = hostFolders(
      {
        DOLLY_STATE_DIR: '/srv/state',
        DOLLY_CACHE_DIR: 'rel/cache',
        DOLLY_PROJECTS_DIR: '/srv/projects',
        DOLLY_MODELS_DIR: '/srv/models',
        DOLLY_MODEL_DIRS: ['/m/a', '', 'm/b'].join(delimiter),
      },
      defaults,
    )
    expect(f).toEqual({
      stateDir: '/srv/state',
      cacheDir: resolve('rel/cache'),
      projectsDir: '/srv/projects',
      modelsDir: '/srv/models',
      builtInModels: [defaults.demoModel, '/m/a', resolve('m/b')],
    })
  })

  it('treats an empty variable as unset', () => {
    expect(hostFolders({ DOLLY_PROJECTS_DIR: '' }, defaults).projectsDir).toBe(defaults.projectsDir)
  })
})
