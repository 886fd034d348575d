export {
  applyOrientation,
  exifOrientation,
  loadImage,
  ImageInputError as ImageInputErrorClass,
} from '../../../src/main/engine/media/image'
export {
  ModelSessions,
  openModelFolder,
  Runtime,
  StableVideoDiffusionPipeline,
} from '../../../src/main/engine'
