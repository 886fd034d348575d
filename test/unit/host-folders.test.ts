// Both hosts take their folders from hostFolders: the environment's choice where set (the desktop
// app used to ignore DOLLY_PROJECTS_DIR, DOLLY_MODELS_DIR, DOLLY_STATE_DIR and DOLLY_CACHE_DIR),
// else the host's own default; the demo model first, then DOLLY_MODEL_DIRS. Downloads take the
// Hugging Face token where huggingface_hub finds it (nothing read one: a gated repository could
// not be downloaded).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hostFolders, hubToken } from '../../src/main/services/compose'

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

describe('hubToken', () => {
  const home = mkdtempSync(join(tmpdir(), 'dolly-hf-token-'))
  afterAll(() => rmSync(home, { recursive: true, force: true }))
  const tokenFile = (dir: string, text: string) => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'token'), text)
    return join(dir, 'token')
  }
  const hfHome = join(home, 'hf-home')
  const stored = tokenFile(hfHome, 'hf_fromfile\n') // as `hf auth login` writes it

  it('takes HF_TOKEN first, then HUGGING_FACE_HUB_TOKEN, then the token file', () => {
    const env = { HF_TOKEN: ' hf_env ', HUGGING_FACE_HUB_TOKEN: 'hf_old', HF_HOME: hfHome }
    expect(hubToken(env, home)).toEqual({ token: 'hf_env', from: 'HF_TOKEN' })
    expect(hubToken({ ...env, HF_TOKEN: '' }, home)).toEqual({
      token: 'hf_old',
      from: 'HUGGING_FACE_HUB_TOKEN',
    })
    expect(hubToken({ HF_TOKEN: '  ', HF_HOME: hfHome }, home)).toEqual({
      token: 'hf_fromfile',
      from: stored,
    })
  })

  it('finds the token file where huggingface_hub keeps it', () => {
    // the default: ~/.cache/huggingface/token
    const byDefault = tokenFile(join(home, '.cache', 'huggingface'), 'hf_default')
    expect(hubToken({}, home)).toEqual({ token: 'hf_default', from: byDefault })
    expect(hubToken({ HF_HOME: '~/hf-home' }, home)).toEqual({ token: 'hf_fromfile', from: stored })
    const xdg = tokenFile(join(home, 'xdg', 'huggingface'), 'hf_xdg')
    expect(hubToken({ XDG_CACHE_HOME: join(home, 'xdg') }, home)?.from).toBe(xdg)
    const own = tokenFile(join(home, 'elsewhere'), 'hf_path')
    expect(hubToken({ HF_TOKEN_PATH: own, HF_HOME: hfHome }, home)?.token).toBe('hf_path')
  })

  it('is none without a variable or a token file (or with an empty one)', () => {
    expect(hubToken({ HF_HOME: join(home, 'nothing-here') }, home)).toBeNull()
    tokenFile(join(home, 'empty'), '\n')
    expect(hubToken({ HF_HOME: join(home, 'empty') }, home)).toBeNull()
    // a folder where the file should be is no token, and no error
    mkdirSync(join(home, 'dir', 'token'), { recursive: true })
    expect(hubToken({ HF_HOME: join(home, 'dir') }, home)).toBeNull()
  })
})
