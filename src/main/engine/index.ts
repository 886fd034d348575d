// The engine's public surface: everything pipelines, the CLI and outside checks import.
export { TorchGenerator, numel } from './random/torch-generator'
