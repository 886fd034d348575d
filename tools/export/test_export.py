#!/usr/bin/env python3
"""Tests for the export tool: tiny randomly initialised diffusers models (and MotionCtrl
checkpoints in MotionCtrl's own key format) are exported with export_model.py, then
- each ONNX component is compared with its torch module on fresh inputs, and
- `dolly render` (the engine, from the exported folder) is compared frame by frame with what
  diffusers' own pipeline (__call__, output_type='np', Generator('cpu').manual_seed) renders
  from the same weights, seed, prompt/image, steps and guidance: max |uint8 difference| <= 2.
MotionCtrl: the reference is diffusers' pipeline with the camera module of
motionctrl_reference.py (written after MotionCtrl's code, separately from the exporter's).
Every export fuses attention (fuse_attention.py), so all of the above runs on fused graphs; the
graphs as exported (--keep-unfused) are compared with the fused ones node by node count and
output by output, in float32 and float16.

They need torch, diffusers, transformers, onnx and onnxruntime (tools/export/requirements.txt)
and the built CLI (npm run build); where the Python packages are missing they skip and say why.
Run: npm run test:export (or python3 tools/export/test_export.py)."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = ROOT.parent / "shared"
MODULES = ("torch", "diffusers", "transformers", "onnx", "onnxruntime")
MISSING = [m for m in MODULES if importlib.util.find_spec(m) is None]
HAVE = not MISSING
WHY = (f"{', '.join(MISSING)} not importable here (pip install -r tools/export/requirements.txt)"
       if MISSING else "")
CLIP_TOKENIZER = SHARED / "fixtures/tokenizers/clip"
T5_TOKENIZER = SHARED / "fixtures/tokenizers/t5"
IMAGE = SHARED / "fixtures/images/rocket.jpg"
MAX_U8 = 2  # frames: max |round(255 x) difference|
STEP_TOL = 1e-5  # MotionCtrl: ONNX UNet vs torch per denoising step (float32)
COMPONENT_TOL = 2e-5  # any ONNX component vs its torch module (float32, tiny models)
FUSED_TOL = 1e-5  # fused vs unfused graph (float32, relative to max(1, |output|))

MEASURED: list[str] = []  # the numbers each test saw, printed at the end


def note(msg: str) -> None:
    MEASURED.append(msg)


if HAVE:
    sys.path.insert(0, str(HERE))
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()


# ---------------------------------------------------------------------------------------------
# helpers


def export(*argv: str) -> str:
    """Runs export_model.main in this process; returns what it printed. A refusal raises
    AssertionError with the exporter's message."""
    import export_model

    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            export_model.main(list(map(str, argv)))
    except SystemExit as e:
        raise AssertionError(f"export_model {' '.join(map(str, argv[:1]))} refused: {e}\n{buf.getvalue()}") from None
    return buf.getvalue()


def export_refusal(*argv: str) -> str:
    import export_model

    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            export_model.main(list(map(str, argv)))
    except SystemExit as e:
        return str(e)
    raise AssertionError(f"export_model {argv[0]} should have refused; it wrote:\n{buf.getvalue()}")


def render(model: Path, out: Path, *flags: str) -> "np.ndarray":
    """dolly render ... --cpu --out out/ ; returns the PNG frames as int32 [F, H, W, 3]."""
    from PIL import Image

    cli = ROOT / "out/main/cli.js"
    if not cli.exists():
        raise AssertionError(f"{cli} is missing: build the CLI first (npm run build)")
    cmd = ["node", str(ROOT / "bin/dolly.mjs"), "render", "--model", str(model), "--cpu", "--out", f"{out}/", *map(str, flags)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise AssertionError(f"dolly render failed ({r.returncode}):\n{' '.join(cmd)}\n{r.stderr[-3000:]}")
    files = sorted(out.glob("frame_*.png"))
    if not files:
        raise AssertionError(f"dolly render wrote no frames in {out}:\n{r.stderr[-2000:]}")
    return np.stack([np.asarray(Image.open(f).convert("RGB")).astype(np.int32) for f in files])


def u8(frames) -> "np.ndarray":
    """diffusers' output_type='np' frames [F, H, W, 3] in [0, 1] -> round(x * 255), as numpy_to_pil does."""
    return np.round(np.asarray(frames, dtype=np.float32) * 255).astype(np.int32)


def session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def onnx_inputs(path: Path) -> dict:
    return {i.name: (i.type, i.shape) for i in session(path).get_inputs()}


def op_counts(path: Path) -> dict:
    import onnx

    ops: dict[str, int] = {}
    for n in onnx.load(str(path), load_external_data=False).graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def max_err(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).max())


class Case(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="dolly-export-test-")
        self.tmp = Path(self._tmp.name)
        self.t0 = time.time()

    def tearDown(self):
        self._tmp.cleanup()
        note(f"{self.id().split('.')[-1]}: {time.time() - self.t0:.0f}s")

    def assertFramesClose(self, got, ref, what: str, who: str = "dolly render"):
        self.assertEqual(got.shape, ref.shape, f"{what}: frame shapes differ")
        d = int(np.abs(got - ref).max())
        note(f"{what}: max |{who} - diffusers| = {d}/255 over {got.size} values")
        self.assertLessEqual(d, MAX_U8, f"{what}: {who} differs from diffusers by {d}/255 (allowed {MAX_U8})")

    def assertFused(self, folder: Path, feeds: dict, what: str, tol: float = FUSED_TOL, attention: bool = True):
        """folder/model.onnx (fused) against folder/model.unfused.onnx (as exported): every Softmax
        became one MultiHeadAttention, and both give the same output on `feeds`."""
        before, after = op_counts(folder / "model.unfused.onnx"), op_counts(folder / "model.onnx")
        sm = before.get("Softmax", 0)
        if attention:
            self.assertGreater(sm, 0, f"{what}: the export has no attention to fuse")
        self.assertEqual((after.get("Softmax", 0), after.get("MultiHeadAttention", 0)), (0, sm),
                         f"{what}: Softmax {sm} -> {after.get('Softmax', 0)}, MultiHeadAttention {after.get('MultiHeadAttention', 0)}")
        feeds = {k: (v.numpy() if torch.is_tensor(v) else v) for k, v in feeds.items()}
        fused = session(folder / "model.onnx").run(None, feeds)[0].astype(np.float32)
        unfused = session(folder / "model.unfused.onnx").run(None, feeds)[0].astype(np.float32)
        scale = max(1.0, float(np.abs(unfused).max()))
        e = max_err(fused, unfused)
        note(f"{what}: Softmax {sm} -> 0, MultiHeadAttention 0 -> {sm}; max |fused - unfused| {e:.3g} (|output| <= {scale:.3g})")
        self.assertTrue(np.isfinite(fused).all(), f"{what}: the fused graph gives non-finite values")
        self.assertLessEqual(e, tol * scale, f"{what}: fused and unfused graphs differ by {e:.3g}")

    def assertClose(self, got, ref, tol: float, what: str):
        e = max_err(got, ref)
        note(f"{what}: max abs error {e:.3g}")
        self.assertTrue(np.isfinite(np.asarray(got, dtype=np.float32)).all(), f"{what}: non-finite values")
        self.assertLessEqual(e, tol, f"{what}: max abs error {e:.3g} > {tol:g}")


# ---------------------------------------------------------------------------------------------
# tiny models (sizes after diffusers' own pipeline tests)


def tiny_sd15_base(path: Path):
    """An SD1.5-style folder: UNet2DConditionModel, AutoencoderKL, CLIP text model with the real
    CLIP tokenizer, and SD1.5's PNDM scheduler config (which the engine refuses)."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
                                down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=8, norm_num_groups=2)
    vae = AutoencoderKL(block_out_channels=[8, 8], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=2)
    te = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=8, intermediate_size=16, layer_norm_eps=1e-05,
                                      num_attention_heads=2, num_hidden_layers=1, pad_token_id=1, vocab_size=49408))
    tok = CLIPTokenizer.from_pretrained(str(CLIP_TOKENIZER))
    sched = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                          set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1)
    StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=sched, safety_checker=None,
                            feature_extractor=None, requires_safety_checker=False).save_pretrained(path)


def tiny_motion_adapter(path: Path):
    from diffusers import MotionAdapter

    torch.manual_seed(1)
    MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2,
                  motion_num_attention_heads=2, use_motion_mid_block=False, motion_max_seq_length=32).save_pretrained(path)


def animatediff_pipe(base: Path, adapter: Path):
    from diffusers import AnimateDiffPipeline, MotionAdapter

    pipe = AnimateDiffPipeline.from_pretrained(str(base), motion_adapter=MotionAdapter.from_pretrained(str(adapter)))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_svd(path: Path):
    from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                           UNetSpatioTemporalConditionModel)
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(block_out_channels=(32, 64), layers_per_block=2, sample_size=4, in_channels=8,
                                            out_channels=4, num_frames=4,
                                            down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                                            up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                                            cross_attention_dim=32, num_attention_heads=8,
                                            projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], latent_channels=4)
    enc = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=32, projection_dim=32, num_hidden_layers=2,
                                                         num_attention_heads=4, image_size=224, intermediate_size=37, patch_size=14))
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
                                   num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                   steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    StableVideoDiffusionPipeline(vae=vae, image_encoder=enc, unet=unet, scheduler=sched,
                                 feature_extractor=CLIPImageProcessor(crop_size=224, size=224)).save_pretrained(path)


def svd_pipe(base: Path):
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline.from_pretrained(str(base))
    pipe.set_progress_bar_config(disable=True)
    return pipe


SVD_SETTINGS = dict(steps=3, seed=7, fps=7, bucket=100, aug=0.05, gmin=1.0, gmax=2.5)


def svd_render_flags(frames: int, chunk: int, s=SVD_SETTINGS):
    return ["--image", IMAGE, "--frames", frames, "--width", 32, "--height", 32, "--steps", s["steps"], "--seed", s["seed"],
            "--fps", s["fps"], "--motion-bucket", s["bucket"], "--noise-aug", s["aug"], "--min-guidance", s["gmin"],
            "--max-guidance", s["gmax"], "--decode-chunk", chunk]


def svd_reference(pipe, frames: int, chunk: int, s=SVD_SETTINGS):
    from PIL import Image

    return pipe(Image.open(IMAGE).convert("RGB"), height=32, width=32, num_frames=frames, num_inference_steps=s["steps"],
                min_guidance_scale=s["gmin"], max_guidance_scale=s["gmax"], fps=s["fps"], motion_bucket_id=s["bucket"],
                noise_aug_strength=s["aug"], decode_chunk_size=chunk, generator=torch.Generator("cpu").manual_seed(s["seed"]),
                output_type="np").frames[0]


def tiny_cogvideox(path: Path, variant: str, ff_gain: float = 1.0):
    """variant '2b' (sincos positions, no RoPE), '5b' (RoPE), '1.5-i2v' (RoPE, patch_size_t 2, ofs,
    image latents on the channel axis, CogVideoXImageToVideoPipeline)."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXPipeline, CogVideoXTransformer3DModel)
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    torch.manual_seed(0)
    i2v = variant == "1.5-i2v"
    kw = dict(use_rotary_positional_embeddings=variant != "2b")
    if i2v:
        kw.update(patch_size_t=2, ofs_embed_dim=2, patch_bias=False, in_channels=8)  # ofs dim = time_embed_dim (512 in 1.5)
    tr = CogVideoXTransformer3DModel(num_attention_heads=2, attention_head_dim=16, out_channels=4, time_embed_dim=2,
                                     text_embed_dim=32, num_layers=1, sample_width=4, sample_height=4, sample_frames=9,
                                     patch_size=2, temporal_compression_ratio=4, max_text_seq_length=226,
                                     **{"in_channels": 4, **kw})
    if ff_gain != 1.0:  # activations float16 cannot hold inside the feed-forward, its output unchanged
        with torch.no_grad():
            for blk in tr.transformer_blocks:
                blk.ff.net[0].proj.weight.mul_(ff_gain)
                blk.ff.net[0].proj.bias.mul_(ff_gain)
                blk.ff.net[2].weight.div_(ff_gain)
    vae = AutoencoderKLCogVideoX(in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
                                 up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
                                 layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4,
                                 invert_scale_latents=i2v, scaling_factor=0.7 if variant != "2b" else 1.15258426)
    te = T5EncoderModel(T5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                 relative_attention_num_buckets=8))
    tok = T5TokenizerFast.from_pretrained(str(T5_TOKENIZER))
    # CogVideoX's released scheduler configs: v-prediction, trailing, zero-terminal-SNR, snr_shift_scale 3 (2B) / 1 (5B)
    sched = CogVideoXDDIMScheduler(beta_schedule="scaled_linear", prediction_type="v_prediction", timestep_spacing="trailing",
                                   set_alpha_to_one=True, rescale_betas_zero_snr=True, clip_sample=False,
                                   snr_shift_scale=3.0 if variant == "2b" else 1.0)
    cls = CogVideoXImageToVideoPipeline if i2v else CogVideoXPipeline
    cls(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr, scheduler=sched).save_pretrained(path)


COG = dict(prompt="waves rolling onto a sandy beach", frames=9, size=32, steps=3, seed=7, guidance=5.0)


# ---------------------------------------------------------------------------------------------


@unittest.skipUnless(HAVE, WHY)
class ExportAnimateDiff(Case):
    def test_animatediff_from_pndm_base_matches_diffusers(self):
        from diffusers import DDIMScheduler

        base, adapter, out = self.tmp / "base", self.tmp / "adapter", self.tmp / "onnx"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        log = export("animatediff", "--base", base, "--motion-adapter", adapter, "--out", out, "--width", 64, "--height", 64,
                     "--frames", 6, "--keep-unfused")
        self.assertIn("AnimateDiff's DDIM recipe", log, "the export must say it replaced the base's scheduler")
        self.assertIn("unet: attention fused: 20 of 20 Softmax -> MultiHeadAttention", log)
        sc = json.loads((out / "scheduler/scheduler_config.json").read_text())
        want = dict(_class_name="DDIMScheduler", beta_schedule="linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                    timestep_spacing="linspace", steps_offset=1, set_alpha_to_one=False, prediction_type="epsilon")
        self.assertEqual({k: sc.get(k) for k in want}, want)
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual(dolly["precision"], {"text_encoder": "fp32", "unet": "fp32", "vae_decoder": "fp32"})
        self.assertEqual((dolly["nativeFrames"], dolly["nativeWidth"], dolly["nativeHeight"]), (16, 512, 512))
        for c in ("vae_decoder", "unet", "text_encoder"):
            self.assertTrue((out / c / "config.json").exists(), f"{c}/config.json missing")
        sig = onnx_inputs(out / "unet/model.onnx")
        self.assertEqual(list(sig), ["sample", "timestep", "encoder_hidden_states"])
        self.assertEqual(sig["timestep"][0], "tensor(int64)")

        # components vs torch at a size other than the traced one (5 frames, 48x40 px)
        pipe = animatediff_pipe(base, adapter)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            ids = torch.randint(0, 49408, (2, 77), generator=g)
            self.assertClose(session(out / "text_encoder/model.onnx").run(None, {"input_ids": ids.numpy()})[0],
                             pipe.text_encoder(ids)[0], COMPONENT_TOL, "animatediff text_encoder")
            x, t, e = torch.randn(2, 4, 5, 20, 24, generator=g), torch.tensor([421]), torch.randn(10, 77, 8, generator=g)
            self.assertClose(session(out / "unet/model.onnx").run(None, {"sample": x.numpy(), "timestep": t.numpy(),
                                                                         "encoder_hidden_states": e.numpy()})[0],
                             pipe.unet(x, t, encoder_hidden_states=e).sample, COMPONENT_TOL, "animatediff unet")
            z = torch.randn(3, 4, 20, 24, generator=g)
            self.assertClose(session(out / "vae_decoder/model.onnx").run(None, {"latent_sample": z.numpy()})[0],
                             pipe.vae.decode(z).sample, COMPONENT_TOL, "animatediff vae_decoder")
        # fused (spatial self/cross and temporal attention, CLIP's causal self-attention, the VAE's
        # mid-block attention) against the graphs as exported, at the size above
        self.assertFused(out / "text_encoder", {"input_ids": ids}, "animatediff text_encoder (CLIP, causal mask)")
        self.assertFused(out / "unet", {"sample": x, "timestep": t, "encoder_hidden_states": e}, "animatediff unet")
        self.assertFused(out / "vae_decoder", {"latent_sample": z}, "animatediff vae_decoder")
        # the memory rules the plans read: fused activations far below the unfused at 512x512x16
        mem = dolly["memory"]
        self.assertEqual(mem["unet"]["attention"], {"fused": 20, "softmaxBefore": 20, "softmax": 0, "multiHeadAttention": 20})
        import activation_memory as AM

        fused = AM.ActivationRule.from_json(mem["unet"]["activations"])
        unfused = AM.ActivationRule.from_json(mem["unet"]["activationsUnfused"])
        note(f"animatediff tiny unet at 512x512x16, batch 2: activations {fused.bytes(2, 16, 512, 512) / 2**20:.0f} MiB fused, "
             f"{unfused.bytes(2, 16, 512, 512) / 2**20:.0f} MiB unfused")
        self.assertLess(fused.bytes(2, 16, 512, 512) * 10, unfused.bytes(2, 16, 512, 512))
        self.assertLessEqual(mem["unet"]["activations"]["fitError"], 0.01)
        self.assertLessEqual(mem["unet"]["activationsUnfused"]["fitError"], 0.01)

        # the whole pipeline: diffusers with the DDIM recipe as its docs build it
        pipe.scheduler = DDIMScheduler.from_pretrained(str(base / "scheduler"), beta_schedule="linear", clip_sample=False,
                                                       timestep_spacing="linspace", steps_offset=1)
        ref = pipe(prompt="a red fox running through fresh snow", negative_prompt="blurry", num_frames=6, width=64, height=64,
                   num_inference_steps=4, guidance_scale=6.0, generator=torch.Generator("cpu").manual_seed(7),
                   output_type="np").frames[0]
        got = render(out, self.tmp / "frames", "--prompt", "a red fox running through fresh snow", "--negative", "blurry",
                     "--frames", 6, "--width", 64, "--height", 64, "--steps", 4, "--guidance", 6, "--seed", 7)
        self.assertFramesClose(got, u8(ref), "animatediff 6 frames 64x64")


@unittest.skipUnless(HAVE, WHY)
class ExportSVD(Case):
    def test_svd_odd_decode_chunks_match_diffusers(self):
        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_svd(base)
        export("svd", "--base", base, "--out", out, "--width", 32, "--height", 32, "--keep-unfused")
        sig = onnx_inputs(out / "vae_decoder/model.onnx")
        self.assertEqual(sig["num_frames"][0], "tensor(int64)", "the decoder's num_frames must be an int64 input")
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual(dolly["nativeFrames"], 4)
        self.assertEqual(dolly["precision"]["vae_decoder"], "fp32")
        pipe = svd_pipe(base)
        # the decoder graph uses num_frames: 3 frames decoded as one chunk of 3, and as 3 chunks of 1
        g = torch.Generator().manual_seed(5)
        z = torch.randn(3, 4, 16, 16, generator=g)
        dec = session(out / "vae_decoder/model.onnx")
        three = dec.run(None, {"latent_sample": z.numpy(), "num_frames": np.array([3], dtype=np.int64)})[0]
        ones = dec.run(None, {"latent_sample": z.numpy(), "num_frames": np.array([1], dtype=np.int64)})[0]
        with torch.no_grad():
            self.assertClose(three, pipe.vae.decode(z, num_frames=3).sample, COMPONENT_TOL, "svd vae_decoder num_frames=3")
            self.assertClose(ones, pipe.vae.decode(z, num_frames=1).sample, COMPONENT_TOL, "svd vae_decoder num_frames=1")
            self.assertGreater(max_err(three, ones), 1e-3, "num_frames does not change the decoder's output: not wired")
            x = torch.randn(2, 5, 8, 12, 8, generator=g)
            t, e = torch.tensor([0.7]), torch.randn(2, 1, 32, generator=g)
            ids = torch.tensor([[6.0, 100.0, 0.05]] * 2)
            self.assertClose(session(out / "unet/model.onnx").run(None, {"sample": x.numpy(), "timestep": t.numpy(),
                                                                         "encoder_hidden_states": e.numpy(),
                                                                         "added_time_ids": ids.numpy()})[0],
                             pipe.unet(x, t, encoder_hidden_states=e, added_time_ids=ids).sample, COMPONENT_TOL,
                             "svd unet (5 frames, 12x8 latent)")
        self.assertFused(out / "unet", {"sample": x, "timestep": t, "encoder_hidden_states": e, "added_time_ids": ids},
                         "svd unet (spatial and temporal attention)")
        self.assertFused(out / "image_encoder", {"pixel_values": torch.randn(2, 3, 224, 224, generator=g)},
                         "svd image_encoder (CLIP vision)")
        for frames, chunk in ((3, 3), (5, 3)):
            got = render(out, self.tmp / f"frames{frames}", *svd_render_flags(frames, chunk))
            self.assertFramesClose(got, u8(svd_reference(pipe, frames, chunk)), f"svd {frames} frames, decode chunk {chunk}")


@unittest.skipUnless(HAVE, WHY)
class ExportCogVideoX(Case):
    def _cog(self, variant: str, external_data: bool = False):
        from diffusers import CogVideoXPipeline

        import export_lib

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, variant)
        limit = export_lib.TWO_GB
        if external_data:  # as if every graph were over 2 GB: weights go to model.onnx_data
            export_lib.TWO_GB = 1
        try:
            export("cogvideox", "--base", base, "--out", out, "--width", COG["size"], "--height", COG["size"],
                   "--frames", COG["frames"], "--keep-unfused")
        finally:
            export_lib.TWO_GB = limit
        if external_data:
            for c in ("text_encoder", "transformer", "vae_decoder"):
                self.assertTrue((out / c / "model.onnx_data").exists(), f"{c}/model.onnx_data was not written")
        pipe = CogVideoXPipeline.from_pretrained(str(base))
        pipe.set_progress_bar_config(disable=True)
        ref = pipe(prompt=COG["prompt"], negative_prompt="", num_frames=COG["frames"], height=COG["size"], width=COG["size"],
                   num_inference_steps=COG["steps"], guidance_scale=COG["guidance"],
                   generator=torch.Generator("cpu").manual_seed(COG["seed"]), output_type="np").frames[0]
        got = render(out, self.tmp / "frames", "--prompt", COG["prompt"], "--negative", "", "--frames", COG["frames"],
                     "--width", COG["size"], "--height", COG["size"], "--steps", COG["steps"], "--seed", COG["seed"],
                     "--guidance", COG["guidance"])
        self.assertFramesClose(got, u8(ref), f"cogvideox {variant} {COG['frames']} frames {COG['size']}px")
        return pipe, out

    def test_cogvideox_2b_external_data_matches_diffusers(self):
        pipe, out = self._cog("2b", external_data=True)
        self.assertEqual(list(onnx_inputs(out / "transformer/model.onnx")), ["hidden_states", "encoder_hidden_states", "timestep"])
        # fusion rewrites the graph only: the weights stay in model.onnx_data, read by both graphs
        g = torch.Generator().manual_seed(6)
        self.assertFused(out / "transformer", {"hidden_states": torch.randn(2, 3, 4, 4, 4, generator=g),
                                               "encoder_hidden_states": torch.randn(2, 226, 32, generator=g),
                                               "timestep": torch.tensor([400, 400])},
                         "cogvideox 2b transformer (external data)")

    def test_cogvideox_5b_rotary_matches_diffusers(self):
        pipe, out = self._cog("5b")
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(list(sig), ["hidden_states", "encoder_hidden_states", "timestep", "image_rotary_emb_cos",
                                     "image_rotary_emb_sin"])
        self.assertEqual(len(sig["image_rotary_emb_cos"][1]), 2, "RoPE tables are [tokens, head_dim]")
        # a size and frame count other than the traced ones, RoPE from diffusers' own pipeline code
        g = torch.Generator().manual_seed(4)
        x, e = torch.randn(2, 2, 4, 6, 4, generator=g), torch.randn(2, 226, 32, generator=g)
        t = torch.tensor([500, 500])
        cos, sin = pipe._prepare_rotary_positional_embeddings(48, 32, 2, torch.device("cpu"))
        with torch.no_grad():
            ref = pipe.transformer(hidden_states=x, encoder_hidden_states=e, timestep=t, image_rotary_emb=(cos, sin)).sample
        got = session(out / "transformer/model.onnx").run(None, {
            "hidden_states": x.numpy(), "encoder_hidden_states": e.numpy(), "timestep": t.numpy(),
            "image_rotary_emb_cos": cos.float().numpy(), "image_rotary_emb_sin": sin.float().numpy()})[0]
        self.assertClose(got, ref, COMPONENT_TOL, "cogvideox 5b transformer (2 latent frames, 48x32)")
        self.assertFused(out / "transformer", {"hidden_states": x, "encoder_hidden_states": e, "timestep": t,
                                               "image_rotary_emb_cos": cos.float(), "image_rotary_emb_sin": sin.float()},
                         "cogvideox 5b transformer (joint attention, qk-norm, RoPE)")
        ids = torch.randint(0, 32128, (2, 226), generator=g)
        self.assertFused(out / "text_encoder", {"input_ids": ids}, "cogvideox text_encoder (T5, relative position bias)")

    def test_cogvideox_15_image_to_video_export(self):
        """CogVideoX 1.5 I2V: RoPE, patch_size_t 2, ofs and the VAE encoder are exported and match torch.
        The engine has no image-to-video CogVideoX pipeline yet, so the pipeline is checked in Python
        from the ONNX files (the recipe the engine must follow), against diffusers'
        CogVideoXImageToVideoPipeline."""
        from diffusers import CogVideoXImageToVideoPipeline
        from PIL import Image

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, "1.5-i2v")
        export("cogvideox", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9)
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(list(sig), ["hidden_states", "encoder_hidden_states", "timestep", "image_rotary_emb_cos",
                                     "image_rotary_emb_sin", "ofs"])
        self.assertEqual(json.loads((out / "model_index.json").read_text())["_class_name"], "CogVideoXImageToVideoPipeline")
        pipe = CogVideoXImageToVideoPipeline.from_pretrained(str(base))
        pipe.set_progress_bar_config(disable=True)
        image = Image.open(IMAGE).convert("RGB")
        kw = dict(prompt=COG["prompt"], negative_prompt="", num_frames=9, height=32, width=32, num_inference_steps=3,
                  guidance_scale=COG["guidance"])
        ref = pipe(image, generator=torch.Generator("cpu").manual_seed(7), output_type="np", **kw).frames[0]
        got = cogvideox_i2v_from_onnx(out, pipe, image, seed=7, **kw)
        self.assertFramesClose(u8(got), u8(ref), "cogvideox 1.5 i2v", who="ONNX components in a Python loop")


def cogvideox_i2v_from_onnx(folder: Path, pipe, image, prompt, negative_prompt, num_frames, height, width,
                            num_inference_steps, guidance_scale, seed):
    """CogVideoXImageToVideoPipeline's steps with every model call an ONNX session of the exported
    folder: what the engine's image-to-video pipeline has to do (see README.md)."""
    from diffusers import CogVideoXDDIMScheduler

    s = {c: session(folder / c / "model.onnx") for c in ("text_encoder", "transformer", "vae_encoder", "vae_decoder")}
    vcfg = json.loads((folder / "vae_decoder/config.json").read_text())
    tcfg = json.loads((folder / "transformer/config.json").read_text())
    sched = CogVideoXDDIMScheduler.from_pretrained(str(folder / "scheduler"))
    scale_s, scale_t = 2 ** (len(vcfg["block_out_channels"]) - 1), vcfg["temporal_compression_ratio"]
    sf = vcfg["scaling_factor"]
    gen = torch.Generator("cpu").manual_seed(seed)

    def encode(text):
        ids = pipe.tokenizer(text, padding="max_length", max_length=226, truncation=True, add_special_tokens=True,
                             return_tensors="np").input_ids.astype(np.int64)
        return s["text_encoder"].run(None, {"input_ids": ids})[0]

    emb = np.concatenate([encode(negative_prompt), encode(prompt)])
    sched.set_timesteps(num_inference_steps)
    lf = (num_frames - 1) // scale_t + 1
    pt = tcfg["patch_size_t"]
    extra = (pt - lf % pt) % pt if pt else 0  # latent frames padded to a multiple of patch_size_t
    lf_total = lf + extra
    # image: VaeImageProcessor resize to height x width, [-1, 1]; VAE encoder parameters -> sample
    px = pipe.video_processor.preprocess(image, height=height, width=width).numpy()[:, :, None]  # [1, 3, 1, H, W]
    params = torch.from_numpy(s["vae_encoder"].run(None, {"sample": px})[0])
    C = params.shape[1] // 2
    mean, logvar = params[:, :C], params[:, C:].clamp(-30.0, 20.0)
    img_lat = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen)  # first draw
    img_lat = img_lat.permute(0, 2, 1, 3, 4)  # [1, 1, C, h, w]
    img_lat = img_lat / sf if vcfg.get("invert_scale_latents") else img_lat * sf
    h, w = height // scale_s, width // scale_s
    shape_f = lf_total + lf_total % pt if pt else lf_total  # prepare_latents adds shape[1] % patch_size_t
    img_lat = torch.cat([img_lat, torch.zeros(1, shape_f - 1, C, h, w)], dim=1)
    if pt:
        img_lat = torch.cat([img_lat[:, : img_lat.shape[1] % pt], img_lat], dim=1)
    lat = torch.randn((1, shape_f, C, h, w), generator=gen) * sched.init_noise_sigma  # second draw
    cos, sin = pipe._prepare_rotary_positional_embeddings(height, width, lat.shape[1], torch.device("cpu"))
    for t in sched.timesteps:
        x = sched.scale_model_input(torch.cat([lat, lat]), t)
        x = torch.cat([x, torch.cat([img_lat, img_lat])], dim=2)
        feeds = {"hidden_states": x.numpy(), "encoder_hidden_states": emb, "timestep": np.array([int(t)] * 2, dtype=np.int64),
                 "image_rotary_emb_cos": cos.float().numpy(), "image_rotary_emb_sin": sin.float().numpy(),
                 "ofs": np.array([2.0], dtype=np.float32)}
        out = torch.from_numpy(s["transformer"].run(None, feeds)[0])
        u, c = out.chunk(2)
        lat = sched.step(u + guidance_scale * (c - u), t, lat, return_dict=False)[0]
    lat = lat[:, extra:]
    z = (lat.permute(0, 2, 1, 3, 4) / sf).numpy()
    video = torch.from_numpy(s["vae_decoder"].run(None, {"latent_sample": z})[0])
    return (video / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 3, 0).numpy()


@unittest.skipUnless(HAVE, WHY)
class ExportFp16(Case):
    def test_fp16_keeps_overflowing_layers_float32(self):
        """bf16-trained weights can make activations float16 cannot hold. Here the feed-forward's
        hidden layer reaches far beyond 65504 while its output does not: plain float16 gives
        inf/NaN, the export keeps that feed-forward float32 and matches the float32 model."""
        from diffusers import CogVideoXTransformer3DModel

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, "5b", ff_gain=1e5)
        log = export("cogvideox", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9, "--fp16")
        self.assertIn("layers kept float32: transformer.transformer_blocks.0.ff", log)
        tr = CogVideoXTransformer3DModel.from_pretrained(str(base / "transformer")).eval()
        g = torch.Generator().manual_seed(2)
        x, e, t = torch.randn(1, 3, 4, 4, 4, generator=g), torch.randn(1, 226, 32, generator=g), torch.tensor([700])
        from diffusers import CogVideoXPipeline

        pipe = CogVideoXPipeline.from_pretrained(str(base))
        cos, sin = pipe._prepare_rotary_positional_embeddings(32, 32, 3, torch.device("cpu"))
        with torch.no_grad():
            ref = tr(hidden_states=x, encoder_hidden_states=e, timestep=t, image_rotary_emb=(cos, sin)).sample
            naive = tr.half()(hidden_states=x.half(), encoder_hidden_states=e.half(), timestep=t,
                              image_rotary_emb=(cos.half(), sin.half())).sample
        self.assertFalse(bool(torch.isfinite(naive).all()), "the test model should overflow in plain float16")
        sess = session(out / "transformer/model.onnx")
        self.assertEqual({i.name: i.type for i in sess.get_inputs()}["hidden_states"], "tensor(float16)")
        got = sess.run(None, {"hidden_states": x.half().numpy(), "encoder_hidden_states": e.half().numpy(),
                              "timestep": t.numpy(), "image_rotary_emb_cos": cos.half().numpy(),
                              "image_rotary_emb_sin": sin.half().numpy()})[0].astype(np.float32)
        scale = float(ref.abs().max())
        self.assertClose(got / scale, ref.numpy() / scale, 2e-2, "fp16 transformer with a float32 feed-forward (relative)")
        self.assertEqual(json.loads((out / "dolly.json").read_text())["precision"]["transformer"], "fp16")


@unittest.skipUnless(HAVE, WHY)
class ExportFusion(Case):
    def test_svd_temporal_decoder_mid_block_attention(self):
        """SVD's temporal VAE decoder has one single-head attention over h x w tokens in its mid
        block, which runs only with 2 layers per block and has a head only with 512 channels
        (the tiny pipeline has neither), as SVD's VAE does."""
        from diffusers import AutoencoderKLTemporalDecoder

        import export_lib as X
        from export_lib import Axis

        torch.manual_seed(0)
        vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 512], in_channels=3, out_channels=3,
                                           down_block_types=["DownEncoderBlock2D"] * 2, latent_channels=4,
                                           layers_per_block=2)
        g = torch.Generator().manual_seed(1)
        mk = lambda s: (torch.randn(s["n"], 4, s["h"], s["w"], generator=g), torch.tensor([s["n"]]))  # noqa: E731
        ax = {0: Axis("batch_frames", ("frames",)), 2: Axis("height", ("spatial",)), 3: Axis("width", ("spatial",))}
        X.export_component("vae_decoder", X.TemporalVaeDecoderExport(vae), self.tmp, ["latent_sample", "num_frames"],
                           "sample", {"latent_sample": ax, "sample": ax}, mk, {"n": 3, "h": 8, "w": 8},
                           {"frames": {"n": 2, "h": 8, "w": 8}, "spatial": {"n": 3, "h": 6, "w": 10}}, keep_unfused=True)
        z = torch.randn(2, 4, 10, 6, generator=g)
        self.assertFused(self.tmp / "vae_decoder", {"latent_sample": z, "num_frames": torch.tensor([2])},
                         "svd temporal vae_decoder (512 channels, 1 head)")

    def test_no_fuse_keeps_attention_as_exported(self):
        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, "5b")
        log = export("cogvideox", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9, "--no-fuse")
        self.assertNotIn("attention fused", log)
        for c in ("text_encoder", "transformer"):
            ops = op_counts(out / c / "model.onnx")
            self.assertGreater(ops.get("Softmax", 0), 0, c)
            self.assertEqual(ops.get("MultiHeadAttention", 0), 0, c)
            self.assertNotIn("attention", json.loads((out / "dolly.json").read_text())["memory"][c])

    def test_fp16_fused_matches_unfused(self):
        """A float16 denoiser: MultiHeadAttention in float16 (CPU and CUDA kernels) against the
        float16 graph as exported, and the float32 model."""
        from diffusers import CogVideoXPipeline

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, "5b")
        export("cogvideox", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9, "--fp16",
               "--keep-unfused")
        pipe = CogVideoXPipeline.from_pretrained(str(base))
        g = torch.Generator().manual_seed(8)
        x, e, t = torch.randn(2, 3, 4, 4, 4, generator=g), torch.randn(2, 226, 32, generator=g), torch.tensor([300, 300])
        cos, sin = pipe._prepare_rotary_positional_embeddings(32, 32, 3, torch.device("cpu"))
        feeds = {"hidden_states": x.half(), "encoder_hidden_states": e.half(), "timestep": t,
                 "image_rotary_emb_cos": cos.half(), "image_rotary_emb_sin": sin.half()}
        self.assertFused(out / "transformer", feeds, "cogvideox 5b transformer, float16", tol=2e-3)
        with torch.no_grad():
            ref = pipe.transformer(hidden_states=x, encoder_hidden_states=e, timestep=t, image_rotary_emb=(cos, sin)).sample
        got = session(out / "transformer/model.onnx").run(None, {k: v.numpy() for k, v in feeds.items()})[0]
        scale = float(ref.abs().max())
        self.assertClose(got.astype(np.float32) / scale, ref.numpy() / scale, 2e-2,
                         "fused float16 transformer vs the float32 model (relative)")


# ---------------------------------------------------------------------------------------------
# MotionCtrl


def record_unet_calls(unet, kind: str):
    """Records (inputs, output) of every UNet call a diffusers pipeline makes."""
    calls = []

    def hook(m, args, kwargs, out):
        x = {"sample": args[0], "timestep": args[1], "encoder_hidden_states": kwargs["encoder_hidden_states"]}
        if kind == "svd":
            x["added_time_ids"] = kwargs["added_time_ids"]
        calls.append(({k: torch.as_tensor(v).detach().clone() for k, v in x.items()}, (out[0] if isinstance(out, tuple) else out.sample).detach().clone()))

    return calls, unet.register_forward_hook(hook, with_kwargs=True)


def onnx_unet_feeds(inputs: dict, rt, kind: str) -> dict:
    f = {k: v.numpy() for k, v in inputs.items()}
    f["timestep"] = (np.asarray(f["timestep"], dtype=np.int64) if kind == "animatediff"
                     else np.asarray(f["timestep"], dtype=np.float32)).reshape(1)
    f["camera_poses"] = rt.numpy()
    return f


@unittest.skipUnless(HAVE, WHY)
class ExportMotionCtrl(Case):
    def _poses(self, frames: int):
        import motionctrl_reference as R

        a, b = self.tmp / "pose_pan.json", self.tmp / "pose_tilt.json"
        R.write_pose_json(a, frames, yaw_deg=20, pitch_deg=0, move=[0.6, 0.0, 0.3])
        R.write_pose_json(b, frames, yaw_deg=-10, pitch_deg=15, move=[0.0, 0.4, -0.5])
        return {"pan": a, "tilt": b}

    def _compare(self, kind, pipe, blocks, out, poses, run_reference, render_flags, rt_for):
        import motionctrl_reference as R

        sess = session(out / "unet/model.onnx")
        calls, handle = record_unet_calls(pipe.unet, kind)
        renders = {}
        try:
            for name, path in poses.items():
                rt = rt_for(path)
                R.set_rt(blocks, rt)
                calls.clear()
                ref = run_reference()
                worst = 0.0
                for inputs, torch_out in calls:
                    worst = max(worst, max_err(sess.run(None, onnx_unet_feeds(inputs, rt, kind))[0], torch_out))
                note(f"motionctrl {kind} {name}: ONNX vs torch UNet over {len(calls)} steps: max abs error {worst:.3g}")
                self.assertGreater(len(calls), 0)
                self.assertLessEqual(worst, STEP_TOL, f"motionctrl {kind} {name}: UNet step differs by {worst:.3g}")
                renders[name] = render(out, self.tmp / f"frames_{name}", *render_flags, "--camera", path)
                self.assertFramesClose(renders[name], u8(ref), f"motionctrl {kind} camera {name}")
        finally:
            handle.remove()
        d = np.abs(renders["pan"] - renders["tilt"])
        note(f"motionctrl {kind}: pan vs tilt renders differ by up to {int(d.max())}/255 (mean {d.mean():.2f})")
        self.assertGreater(int(d.max()), 8, f"motionctrl {kind}: a different camera path barely changes the frames")

    def test_motionctrl_animatediff_matches_reference(self):
        import motionctrl_reference as R
        from diffusers import DDIMScheduler

        base, adapter, out, ckpt = self.tmp / "base", self.tmp / "adapter", self.tmp / "onnx", self.tmp / "cmcm.ckpt"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        pipe = animatediff_pipe(base, adapter)
        sd = R.make_cmcm_checkpoint(pipe.unet, "animatediff", seed=11)
        # as train.py saves it (DDP-wrapped keys)
        torch.save({"epoch": 3, "global_step": 1000, "state_dict": {f"module.{k}": v for k, v in sd.items()}}, ckpt)
        log = export("animatediff", "--base", base, "--motion-adapter", adapter, "--motionctrl", ckpt, "--out", out,
                     "--width", 64, "--height", 64, "--frames", 6)
        self.assertIn("MotionCtrl: loaded", log)
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual((dolly["camera"], dolly["cameraTranslationScale"]), ("motionctrl-rt", 1))
        sc = json.loads((out / "scheduler/scheduler_config.json").read_text())
        want = dict(_class_name="DDIMScheduler", beta_schedule="linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                    timestep_spacing="leading", steps_offset=1, set_alpha_to_one=True)
        self.assertEqual({k: sc.get(k) for k in want}, want)
        sig = onnx_inputs(out / "unet/model.onnx")
        self.assertEqual(sig["camera_poses"][0], "tensor(float)")
        self.assertEqual(len(sig["camera_poses"][1]), 3)
        # reference: diffusers' AnimateDiffPipeline, MotionCtrl's own scheduler arguments, the camera module patched in
        pipe.scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", steps_offset=1, clip_sample=False)
        blocks = R.patch_unet(pipe.unet, "animatediff", torch.load(ckpt)["state_dict"])
        prompt, F = "a lighthouse on a cliff at dusk", 6
        run = lambda: pipe(prompt=prompt, negative_prompt="blurry", num_frames=F, width=64, height=64, num_inference_steps=3,  # noqa: E731
                           guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(5), output_type="np").frames[0]
        flags = ["--prompt", prompt, "--negative", "blurry", "--frames", F, "--width", 64, "--height", 64, "--steps", 3,
                 "--guidance", 7.5, "--seed", 5]
        self._compare("animatediff", pipe, blocks, out, self._poses(F), run, flags,
                      lambda p: R.animatediff_rt(p, guidance=True))

    def test_motionctrl_svd_matches_reference(self):
        import motionctrl_reference as R

        base, out, ckpt = self.tmp / "base", self.tmp / "onnx", self.tmp / "motionctrl_svd.ckpt"
        tiny_svd(base)
        pipe = svd_pipe(base)
        # an sgm DiffusionEngine checkpoint: the UNet under model.diffusion_model., other models beside it
        extra = {"first_stage_model.decoder.conv_in.weight": torch.zeros(4),
                 "conditioner.embedders.0.open_clip.model.positional_embedding": torch.zeros(4)}
        torch.save({"state_dict": R.make_cmcm_checkpoint(pipe.unet, "svd", seed=12, extra=extra)}, ckpt)
        export("svd", "--base", base, "--motionctrl", ckpt, "--out", out, "--width", 32, "--height", 32)
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual((dolly["camera"], dolly["cameraTranslationScale"], dolly["nativeFrames"]), ("motionctrl-rt", [3, 1, 4], 4))
        self.assertEqual(dolly["defaults"], {"guidance": 2.5})
        blocks = R.patch_unet(pipe.unet, "svd", torch.load(ckpt)["state_dict"])
        F = 4
        self._compare("svd", pipe, blocks, out, self._poses(F), lambda: svd_reference(pipe, F, 3), svd_render_flags(F, 3),
                      lambda p: R.svd_rt(p, F, guidance=True))

    def test_motionctrl_svd_long_pose_file_from_any_start(self):
        """MotionCtrl-SVD's get_RT: a pose file longer than the clip gives its central rows; the
        translation is scaled by [3, 1, 4] before the poses are made relative to the first of them.
        The pose file here starts away from the identity, so both rules matter. Needs the engine
        change described in tools/export/README.md ("Engine: MotionCtrl poses")."""
        import motionctrl_reference as R

        base, out, ckpt = self.tmp / "base", self.tmp / "onnx", self.tmp / "motionctrl_svd.ckpt"
        tiny_svd(base)
        pipe = svd_pipe(base)
        torch.save({"state_dict": R.make_cmcm_checkpoint(pipe.unet, "svd", seed=14)}, ckpt)
        export("svd", "--base", base, "--motionctrl", ckpt, "--out", out, "--width", 32, "--height", 32)
        blocks = R.patch_unet(pipe.unet, "svd", torch.load(ckpt)["state_dict"])
        F, long = 4, self.tmp / "pose_long.json"
        # 10 rows; the central 4 (rows 3..6) start turned and moved away from the identity
        R.write_pose_json(long, 10, yaw_deg=40, pitch_deg=10, move=[1.2, 0.3, 0.8])
        R.set_rt(blocks, R.svd_rt(long, F, guidance=True))
        ref = svd_reference(pipe, F, 4)
        got = render(out, self.tmp / "frames_long", *svd_render_flags(F, 4), "--camera", long)
        self.assertFramesClose(got, u8(ref), "motionctrl svd, 10-row pose file for 4 frames (central rows, scale then relative)")

    def test_identity_projection_with_zero_poses_is_the_plain_model(self):
        """cc_projection identity-initialised (as MotionCtrl creates it): with zero poses the camera
        UNet equals the model without the camera module (with the checkpoint's second attention)."""
        import motionctrl_reference as R
        from safetensors.torch import save_file

        base, adapter = self.tmp / "base", self.tmp / "adapter"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        svd_base = self.tmp / "svd"
        tiny_svd(svd_base)
        g = torch.Generator().manual_seed(9)
        for kind in ("animatediff", "svd"):
            pipe = animatediff_pipe(base, adapter) if kind == "animatediff" else svd_pipe(svd_base)
            sd = R.make_cmcm_checkpoint(pipe.unet, kind, seed=13, identity=True)
            ckpt = self.tmp / f"{kind}_identity.safetensors"
            save_file(sd, str(ckpt))
            out = self.tmp / f"onnx_{kind}"
            if kind == "animatediff":
                export("animatediff", "--base", base, "--motion-adapter", adapter, "--motionctrl", ckpt, "--out", out,
                       "--width", 32, "--height", 32, "--frames", 4)
                x, t, e = torch.randn(2, 4, 4, 16, 16, generator=g), torch.tensor([500]), torch.randn(8, 77, 8, generator=g)
                feeds = {"sample": x, "timestep": t, "encoder_hidden_states": e}
                call = lambda: pipe.unet(x, t, encoder_hidden_states=e).sample  # noqa: E731
            else:
                export("svd", "--base", svd_base, "--motionctrl", ckpt, "--out", out, "--width", 32, "--height", 32)
                x, t, e = torch.randn(2, 4, 8, 16, 16, generator=g), torch.tensor([0.5]), torch.randn(2, 1, 32, generator=g)
                ids = torch.tensor([[6.0, 127.0, 0.02]] * 2)
                feeds = {"sample": x, "timestep": t, "encoder_hidden_states": e, "added_time_ids": ids}
                call = lambda: pipe.unet(x, t, encoder_hidden_states=e, added_time_ids=ids).sample  # noqa: E731
            R.patch_unet(pipe.unet, kind, sd, camera=False)  # plain model, checkpoint's attn2/norm2
            with torch.no_grad():
                plain = call()
            sess = session(out / "unet/model.onnx")
            run = lambda rt: sess.run(None, {**{k: v.numpy() for k, v in feeds.items()}, "camera_poses": rt.numpy()})[0]  # noqa: E731
            self.assertClose(run(torch.zeros(2, 4, 12)), plain, STEP_TOL, f"motionctrl {kind}: zero poses vs plain model")
            moved = max_err(run(torch.randn(2, 4, 12, generator=g)), plain)
            note(f"motionctrl {kind}: non-zero poses move the output by {moved:.3g}")
            self.assertGreater(moved, 1e-3, f"motionctrl {kind}: camera_poses do not reach the output")

    def test_refuses_checkpoint_with_missing_key(self):
        import motionctrl_reference as R

        base, adapter = self.tmp / "base", self.tmp / "adapter"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        sd = R.make_cmcm_checkpoint(animatediff_pipe(base, adapter).unet, "animatediff", seed=1)
        gone = next(k for k in sd if k.endswith("norms.1.bias"))
        del sd[gone]
        torch.save({"state_dict": sd}, self.tmp / "broken.ckpt")
        msg = export_refusal("animatediff", "--base", base, "--motion-adapter", adapter, "--motionctrl", self.tmp / "broken.ckpt",
                             "--out", self.tmp / "onnx", "--width", 32, "--height", 32, "--frames", 4)
        self.assertIn(gone, msg, f"the refusal must name the missing key {gone}; it said: {msg}")
        self.assertFalse((self.tmp / "onnx").exists(), "a refused export must not leave a folder behind")
        torch.save({"state_dict": {"something.else.weight": torch.zeros(1)}}, self.tmp / "other.ckpt")
        msg = export_refusal("animatediff", "--base", base, "--motion-adapter", adapter, "--motionctrl", self.tmp / "other.ckpt",
                             "--out", self.tmp / "onnx2", "--width", 32, "--height", 32, "--frames", 4)
        self.assertIn("something.else.weight", msg)
        svd_base = self.tmp / "svd"
        tiny_svd(svd_base)
        sd = R.make_cmcm_checkpoint(svd_pipe(svd_base).unet, "svd", seed=1)
        gone = next(k for k in sd if k.endswith("cc_projection.weight"))
        del sd[gone]
        torch.save({"state_dict": sd}, self.tmp / "svd_broken.ckpt")
        msg = export_refusal("svd", "--base", svd_base, "--motionctrl", self.tmp / "svd_broken.ckpt", "--out", self.tmp / "onnx3",
                             "--width", 32, "--height", 32)
        self.assertIn(gone, msg, f"the refusal must name the missing key {gone}; it said: {msg}")
        note(f"refusals name the key: {msg.splitlines()[0][:160]}")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2, warnings="ignore").result
    if MEASURED:
        print("\nmeasured:\n  " + "\n  ".join(MEASURED))
    skipped = len(result.skipped)
    # not the bare "N passed, N failed, N skipped" form: that closing line belongs to npm test's whole run
    print(f"export tool: passed {result.testsRun - len(result.failures) - len(result.errors) - skipped}, "
          f"failed {len(result.failures) + len(result.errors)}, skipped {skipped}")
    sys.exit(0 if result.wasSuccessful() else 1)
