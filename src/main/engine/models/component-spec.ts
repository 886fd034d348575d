// What a pipeline needs of one component of a model folder: its file, the inputs it must
// have (Optimum's names, their element types and ranks) and its first output's rank.
import type { ElemType } from './onnx-signature'

export type InputSpec = {
  name: string
  types: readonly ElemType[]
  ranks: readonly number[]
  /** A missing optional input is fine (it is conditioning the model may not have). */
  optional?: boolean
  /** What the input is, for messages: "latents [batch, 4, frames, h, w]". */
  what: string
  /**
   * `name` is a prefix for any number of inputs name0, name1, ... (a causal VAE's feature cache),
   * each checked against types and ranks; our names for them are the export's own.
   */
  repeated?: boolean
}

export type ComponentSpec = {
  component: string
  inputs: InputSpec[]
  outputRanks: readonly number[]
  optional?: boolean
}
