// Linear latent-to-RGB factors for live previews, per latent space (no onnxruntime here: the
// registry, which main reads, names them).

export type LatentRgb = { factors: readonly (readonly number[])[]; bias: readonly number[] }

/**
 * Wan 2.1 VAE latent channels (normalised, as the transformer sees them) -> RGB, with a bias, as
 * ComfyUI's latent previews use them (comfy/latent_formats.py, Wan21).
 */
export const WAN21_LATENT_RGB = {
  factors: [
    [-0.1299, -0.1692, 0.2932],
    [0.0671, 0.0406, 0.0442],
    [0.3568, 0.2548, 0.1747],
    [0.0372, 0.2344, 0.142],
    [0.0313, 0.0189, -0.0328],
    [0.0296, -0.0956, -0.0665],
    [-0.3477, -0.4059, -0.2925],
    [0.0166, 0.1902, 0.1975],
    [-0.0412, 0.0267, -0.1364],
    [-0.1293, 0.074, 0.1636],
    [0.068, 0.3019, 0.1128],
    [0.0032, 0.0581, 0.0639],
    [-0.1251, 0.0927, 0.1699],
    [0.006, -0.0633, 0.0005],
    [0.3477, 0.2275, 0.295],
    [0.1984, 0.0913, 0.1861],
  ],
  bias: [-0.1835, -0.0868, -0.336],
} as const
