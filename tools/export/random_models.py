"""Models at their real size with random weights, built from their published configs, so the
exporter, fused attention, external data, float16 and the memory plans can be tested at real
sizes without downloading a checkpoint (`export_model.py KIND --random-weights NAME`).

The configs are the numbers in each release's config.json (diffusers / transformers layout),
written out here because nothing can be downloaded where this runs:
  sd15-animatediff-v3  stable-diffusion-v1-5 unet, vae, text_encoder (CLIP ViT-L/14) +
                       guoyww/animatediff-motion-adapter-v1-5-3 (AnimateDiff v3: no motion mid block)
  svd-xt               stabilityai/stable-video-diffusion-img2vid-xt unet, vae, image_encoder (OpenCLIP ViT-H/14)
  cogvideox-2b         THUDM/CogVideoX-2b transformer, vae, text_encoder (google/t5-v1_1-xxl encoder)
  cogvideox-5b         THUDM/CogVideoX-5b: 48 heads, 42 blocks, rotary embeddings; the same VAE (scaling
                       0.7) and T5-XXL
  wan2.1-t2v-1.3b      Wan-AI/Wan2.1-T2V-1.3B-Diffusers transformer, vae (AutoencoderKLWan), text_encoder
                       (UMT5-XXL encoder), scheduler (UniPC, flow sigmas, flow_shift 3.0)

T5-XXL's encoder is 4.76 G parameters, 19 GB in float32 (UMT5-XXL's, with its 256k vocabulary,
5.7 G): more than a 24 GB machine can build, trace and check. `text_encoder_layers` builds it with fewer of its 24 identical blocks (same
widths, heads, vocabulary); its activations do not depend on the depth, and the weights of the
full encoder are counted from the config (published_weight_bytes). `denoiser_layers` does the
same for a transformer denoiser's identical blocks (CogVideoX, Wan): what is live at the peak is
one block's tensors, the residual stream and the inputs every block reads, whatever the depth,
so a shallow build gives the full model's activation rule in minutes (UNets are not built
shallow: their blocks differ in width and size).
"""
from __future__ import annotations

from functools import partial

SD15_UNET = dict(
    act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], center_input_sample=False,
    cross_attention_dim=768, down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                               "DownBlock2D"],
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, in_channels=4, layers_per_block=2, mid_block_scale_factor=1,
    norm_eps=1e-5, norm_num_groups=32, out_channels=4, sample_size=64,
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
SD15_VAE = dict(
    act_fn="silu", block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4, in_channels=3,
    latent_channels=4, layers_per_block=2, norm_num_groups=32, out_channels=3, sample_size=512,
    up_block_types=["UpDecoderBlock2D"] * 4, scaling_factor=0.18215)
CLIP_VIT_L14_TEXT = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=768, bos_token_id=0,
    eos_token_id=2, pad_token_id=1)
SD15_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                      set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1)
ANIMATEDIFF_V3_ADAPTER = dict(
    block_out_channels=[320, 640, 1280, 1280], motion_layers_per_block=2, motion_mid_block_layers_per_block=1,
    motion_num_attention_heads=8, motion_norm_num_groups=32, motion_max_seq_length=32, use_motion_mid_block=False,
    conv_in_channels=None)

SVD_XT_UNET = dict(
    sample_size=96, in_channels=8, out_channels=4,
    down_block_types=["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    up_block_types=["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
    block_out_channels=[320, 640, 1280, 1280], addition_time_embed_dim=256, projection_class_embeddings_input_dim=768,
    layers_per_block=2, cross_attention_dim=1024, transformer_layers_per_block=1, num_attention_heads=[5, 10, 20, 20],
    num_frames=25)
SVD_VAE = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
               block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=768,
               scaling_factor=0.18215, force_upcast=True)
OPENCLIP_VIT_H14_VISION = dict(hidden_size=1280, intermediate_size=5120, num_attention_heads=16, num_hidden_layers=32,
                               patch_size=14, image_size=224, projection_dim=1024, hidden_act="gelu",
                               layer_norm_eps=1e-5)
SVD_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
                     num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                     steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)

COGVIDEOX_2B_TRANSFORMER = dict(
    num_attention_heads=30, attention_head_dim=64, in_channels=16, out_channels=16, flip_sin_to_cos=True, freq_shift=0,
    time_embed_dim=512, text_embed_dim=4096, num_layers=30, dropout=0.0, attention_bias=True, sample_width=90,
    sample_height=60, sample_frames=49, patch_size=2, temporal_compression_ratio=4, max_text_seq_length=226,
    activation_fn="gelu-approximate", timestep_activation_fn="silu", norm_elementwise_affine=True, norm_eps=1e-5,
    spatial_interpolation_scale=1.875, temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=False,
    use_learned_positional_embeddings=False)
COGVIDEOX_2B_VAE = dict(
    in_channels=3, out_channels=3, down_block_types=["CogVideoXDownBlock3D"] * 4,
    up_block_types=["CogVideoXUpBlock3D"] * 4, block_out_channels=[128, 256, 256, 512], latent_channels=16,
    layers_per_block=3, act_fn="silu", norm_eps=1e-6, norm_num_groups=32, temporal_compression_ratio=4,
    sample_height=480, sample_width=720, scaling_factor=1.15258426, use_quant_conv=False, use_post_quant_conv=False)
T5_V1_1_XXL = dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, feed_forward_proj="gated-gelu",
                   relative_attention_num_buckets=32, relative_attention_max_distance=128, vocab_size=32128,
                   layer_norm_epsilon=1e-6, tie_word_embeddings=False)
# THUDM/CogVideoX-5b transformer/config.json: wider, deeper, rotary position embeddings
COGVIDEOX_5B_TRANSFORMER = dict(COGVIDEOX_2B_TRANSFORMER, num_attention_heads=48, num_layers=42,
                                use_rotary_positional_embeddings=True)
COGVIDEOX_5B_VAE = dict(COGVIDEOX_2B_VAE, scaling_factor=0.7)
COGVIDEOX_2B_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              num_train_timesteps=1000, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                              sample_max_value=1.0, set_alpha_to_one=True, snr_shift_scale=3.0, steps_offset=0,
                              timestep_spacing="trailing")

# Wan2.1 T2V 1.3B (Wan-AI/Wan2.1-T2V-1.3B-Diffusers): its transformer config; the VAE is
# AutoencoderKLWan's defaults (the 2.1 VAE: base_dim 96, z_dim 16, dim_mult [1, 2, 4, 4], 8x, 4x in time)
WAN21_T2V_1_3B_TRANSFORMER = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
    eps=1e-6, image_dim=None, added_kv_proj_dim=None, rope_max_seq_len=1024)
WAN21_VAE = dict(base_dim=96, z_dim=16)
# google/umt5-xxl's encoder, as Wan's text_encoder (UMT5EncoderModel)
UMT5_XXL = dict(d_model=4096, d_ff=10240, d_kv=64, num_heads=64, num_layers=24, feed_forward_proj="gated-gelu",
                relative_attention_num_buckets=32, relative_attention_max_distance=128, vocab_size=256384,
                layer_norm_epsilon=1e-6, tie_word_embeddings=False)
# as the Wan-AI diffusers repositories ship it: UniPC over flow sigmas
WAN21_SCHEDULER = dict(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
                       num_train_timesteps=1000, solver_order=2, solver_type="bh2", lower_order_final=True)

# name -> (pipeline kind for export_model.py, diffusers pipeline class)
CONFIGS = {
    "sd15-animatediff-v3": ("animatediff", "AnimateDiffPipeline"),
    "svd-xt": ("svd", "StableVideoDiffusionPipeline"),
    "cogvideox-2b": ("cogvideox", "CogVideoXPipeline"),
    "cogvideox-5b": ("cogvideox", "CogVideoXPipeline"),
    # UMT5-XXL in float32 is bigger than T5-XXL: build it with text_encoder_layers
    "wan2.1-t2v-1.3b": ("wan", "WanPipeline"),
}


def _seeded():
    import torch

    torch.manual_seed(0)


def _sd15_animatediff(tokenizer: str, text_encoder_layers: int | None):
    from diffusers import AnimateDiffPipeline, AutoencoderKL, MotionAdapter, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    _seeded()
    unet = UNet2DConditionModel(**SD15_UNET)
    adapter = MotionAdapter(**ANIMATEDIFF_V3_ADAPTER)
    vae = AutoencoderKL(**SD15_VAE)
    te = CLIPTextModel(CLIPTextConfig(**_layers(CLIP_VIT_L14_TEXT, "num_hidden_layers", text_encoder_layers)))
    tok = CLIPTokenizer.from_pretrained(tokenizer)
    return AnimateDiffPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, motion_adapter=adapter,
                               scheduler=PNDMScheduler(**SD15_SCHEDULER))


def _svd_xt(tokenizer: str | None, text_encoder_layers: int | None):
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    _seeded()
    unet = UNetSpatioTemporalConditionModel(**SVD_XT_UNET)
    vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
    enc = CLIPVisionModelWithProjection(CLIPVisionConfig(**OPENCLIP_VIT_H14_VISION))
    return StableVideoDiffusionPipeline(vae=vae, image_encoder=enc, unet=unet,
                                        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER),
                                        feature_extractor=CLIPImageProcessor(crop_size=224, size=224))


def _cogvideox(transformer: dict, vae_cfg: dict, tokenizer: str, text_encoder_layers: int | None,
               denoiser_layers: int | None = None):
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    _seeded()
    tr = CogVideoXTransformer3DModel(**_layers(transformer, "num_layers", denoiser_layers, "denoiser_layers"))
    vae = AutoencoderKLCogVideoX(**vae_cfg)
    te = T5EncoderModel(T5Config(**_layers(T5_V1_1_XXL, "num_layers", text_encoder_layers)))
    tok = T5TokenizerFast.from_pretrained(tokenizer)
    return CogVideoXPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                             scheduler=CogVideoXDDIMScheduler(**COGVIDEOX_2B_SCHEDULER))


def _wan21_t2v_1_3b(tokenizer: str, text_encoder_layers: int | None, denoiser_layers: int | None = None):
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import T5TokenizerFast, UMT5Config, UMT5EncoderModel

    _seeded()
    tr = WanTransformer3DModel(**_layers(WAN21_T2V_1_3B_TRANSFORMER, "num_layers", denoiser_layers, "denoiser_layers"))
    vae = AutoencoderKLWan(**WAN21_VAE)
    te = UMT5EncoderModel(UMT5Config(**_layers(UMT5_XXL, "num_layers", text_encoder_layers)))
    # UMT5's tokenizer is a T5TokenizerFast with the 256k vocabulary; a T5 one gives ids within it
    tok = T5TokenizerFast.from_pretrained(tokenizer)
    return WanPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                       scheduler=UniPCMultistepScheduler(**WAN21_SCHEDULER))


BUILDERS = {"sd15-animatediff-v3": _sd15_animatediff, "svd-xt": _svd_xt,
            "cogvideox-2b": partial(_cogvideox, COGVIDEOX_2B_TRANSFORMER, COGVIDEOX_2B_VAE),
            "cogvideox-5b": partial(_cogvideox, COGVIDEOX_5B_TRANSFORMER, COGVIDEOX_5B_VAE),
            "wan2.1-t2v-1.3b": _wan21_t2v_1_3b}
# the builders that take denoiser_layers (transformer denoisers of identical blocks)
SHALLOW_DENOISER = {"cogvideox-2b", "cogvideox-5b", "wan2.1-t2v-1.3b"}


def _layers(cfg: dict, key: str, n: int | None, what: str = "text_encoder_layers") -> dict:
    if n is None:
        return cfg
    if not 1 <= n <= cfg[key]:
        raise ValueError(f"{what} {n}: the published model has {cfg[key]} blocks")
    return {**cfg, key: n}


def build(name: str, kind: str, tokenizer: str | None = None, text_encoder_layers: int | None = None,
          denoiser_layers: int | None = None):
    """The pipeline `name` with random weights (torch.manual_seed(0), each class's own init)."""
    from export_lib import ExportError

    if name not in CONFIGS:
        raise ExportError(f"--random-weights {name}: unknown; known: {', '.join(sorted(CONFIGS))}")
    want, _ = CONFIGS[name]
    if want != kind:
        raise ExportError(f"--random-weights {name} is a {want} model, not {kind}")
    builder = BUILDERS.get(name)
    if builder is None:
        raise ExportError(f"--random-weights {name}: no builder for it")
    if kind != "svd" and not tokenizer:
        raise ExportError(f"--random-weights {name} needs --tokenizer DIR (the {kind} tokenizer to ship with it)")
    if denoiser_layers is not None:
        if name not in SHALLOW_DENOISER:
            raise ExportError(f"--denoiser-layers: {name}'s denoiser is a UNet (its blocks differ); only "
                              f"{', '.join(sorted(SHALLOW_DENOISER))} can be built shallow")
        return builder(tokenizer, text_encoder_layers, denoiser_layers)
    return builder(tokenizer, text_encoder_layers)


def published_weight_bytes(name: str, precision: dict[str, str]) -> dict[str, int]:
    """Bytes of each component's weights as published (full depth), from the configs alone
    (built on torch's meta device: no memory). precision: component -> 'fp32' | 'fp16'."""
    import torch

    def count(module) -> int:
        return sum(p.numel() for p in module.parameters())

    with torch.device("meta"):
        if name == "sd15-animatediff-v3":
            from diffusers import AutoencoderKL, MotionAdapter, UNet2DConditionModel, UNetMotionModel
            from transformers import CLIPTextConfig, CLIPTextModel

            unet = UNetMotionModel.from_unet2d(UNet2DConditionModel(**SD15_UNET), MotionAdapter(**ANIMATEDIFF_V3_ADAPTER),
                                               load_weights=False)
            vae = AutoencoderKL(**SD15_VAE)
            params = {"text_encoder": count(CLIPTextModel(CLIPTextConfig(**CLIP_VIT_L14_TEXT))), "unet": count(unet),
                      "vae_decoder": count(vae.decoder) + count(vae.post_quant_conv)}
        elif name == "svd-xt":
            from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
            from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

            vae = AutoencoderKLTemporalDecoder(**SVD_VAE)
            params = {"image_encoder": count(CLIPVisionModelWithProjection(CLIPVisionConfig(**OPENCLIP_VIT_H14_VISION))),
                      "vae_encoder": count(vae.encoder) + count(vae.quant_conv),
                      "unet": count(UNetSpatioTemporalConditionModel(**SVD_XT_UNET)), "vae_decoder": count(vae.decoder)}
        elif name in ("cogvideox-2b", "cogvideox-5b"):
            from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
            from transformers import T5Config, T5EncoderModel

            vae = AutoencoderKLCogVideoX(**COGVIDEOX_2B_VAE)
            tr = COGVIDEOX_2B_TRANSFORMER if name == "cogvideox-2b" else COGVIDEOX_5B_TRANSFORMER
            params = {"text_encoder": count(T5EncoderModel(T5Config(**T5_V1_1_XXL))),
                      "transformer": count(CogVideoXTransformer3DModel(**tr)),
                      "vae_decoder": count(vae.decoder) + (count(vae.post_quant_conv) if vae.post_quant_conv else 0)}
        elif name == "wan2.1-t2v-1.3b":
            from diffusers import AutoencoderKLWan, WanTransformer3DModel
            from transformers import UMT5Config, UMT5EncoderModel

            vae = AutoencoderKLWan(**WAN21_VAE)
            params = {"text_encoder": count(UMT5EncoderModel(UMT5Config(**UMT5_XXL))),
                      "transformer": count(WanTransformer3DModel(**WAN21_T2V_1_3B_TRANSFORMER)),
                      "vae_decoder": count(vae.decoder) + count(vae.post_quant_conv)}
        else:
            raise ValueError(f"no published weights for {name}")
    return {k: v * (2 if precision.get(k) == "fp16" else 4) for k, v in params.items()}
