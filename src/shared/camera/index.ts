// Camera paths: the trajectory model, presets, conversions and pose files. Pure TypeScript,
// used by the renderer's editor, by main and by the engine.
export * from './math'
export * from './trajectory'
export * from './presets'
export * from './convert'
export * from './files'
export * from './keyframes'
export * from './loop'
export * from './motionctrl-presets'
export * from './limits'
export * from './videox-fun'
