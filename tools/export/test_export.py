#!/usr/bin/env python3
"""Tests for the export tool: tiny randomly initialised diffusers models (and MotionCtrl
checkpoints in MotionCtrl's own key format) are exported with export_model.py, then
- each ONNX component is compared with its torch module on fresh inputs, and
- `dolly render` (the engine, from the exported folder) is compared frame by frame with what
  diffusers' own pipeline (__call__, output_type='np', Generator('cpu').manual_seed) renders
  from the same weights, seed, prompt/image, steps and guidance: max |uint8 difference| <= 2.
MotionCtrl: the reference is diffusers' pipeline with the camera module of
motionctrl_reference.py (written after MotionCtrl's code, separately from the exporter's).
Wan-Fun Control-Camera: the reference runs VideoX-Fun's own transformer and pose code (a git archive
of aigc-apps/VideoX-Fun at VIDEOX_FUN_SRC, outside the repository; skipped without it) in its
pipeline's steps.
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
import math
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


def ort_run_order(path: Path, feeds: dict, optimize: bool, tmp: Path) -> list[tuple[str, str]]:
    """(node name, op type) of the top-level nodes onnxruntime ran, in the order it ran them (its
    profile), with graph optimizations all on or off."""
    import onnx
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp / "ort-profile")
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    sess = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    sess.run(None, feeds)
    events = json.loads(Path(sess.end_profiling()).read_text())
    inner = {n.name for top in onnx.load(str(path), load_external_data=False).graph.node for a in top.attribute
             if a.type == onnx.AttributeProto.GRAPH for n in a.g.node}
    return [(e["name"][: -len("_kernel_time")], e["args"]["op_name"]) for e in events
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
            and e["name"][: -len("_kernel_time")] not in inner]


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

    def assertFramesClose(self, got, ref, what: str, who: str = "dolly render", against: str = "diffusers"):
        self.assertEqual(got.shape, ref.shape, f"{what}: frame shapes differ")
        d = int(np.abs(got - ref).max())
        note(f"{what}: max |{who} - {against}| = {d}/255 over {got.size} values")
        self.assertLessEqual(d, MAX_U8, f"{what}: {who} differs from {against} by {d}/255 (allowed {MAX_U8})")

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
    """variant '2b' (sincos positions, no RoPE), '5b' (RoPE), '1.5' (RoPE on the slice grid, patch_size_t 2),
    '1.5-i2v' (RoPE, patch_size_t 2, ofs,
    image latents on the channel axis, CogVideoXImageToVideoPipeline)."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXPipeline, CogVideoXTransformer3DModel)
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    torch.manual_seed(0)
    i2v = variant == "1.5-i2v"
    kw = dict(use_rotary_positional_embeddings=variant != "2b")
    if i2v:
        kw.update(patch_size_t=2, ofs_embed_dim=2, patch_bias=False, in_channels=8)  # ofs dim = time_embed_dim (512 in 1.5)
    elif variant == "1.5":
        kw.update(patch_size_t=2, patch_bias=False)
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
        self.assertEqual(sig["timestep"][0], "tensor(float)", "Euler's fractional timesteps must reach the UNet as they are")

        # components vs torch at a size other than the traced one (5 frames, 48x40 px)
        pipe = animatediff_pipe(base, adapter)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            ids = torch.randint(0, 49408, (2, 77), generator=g)
            self.assertClose(session(out / "text_encoder/model.onnx").run(None, {"input_ids": ids.numpy()})[0],
                             pipe.text_encoder(ids)[0], COMPONENT_TOL, "animatediff text_encoder")
            x, t, e = torch.randn(2, 4, 5, 20, 24, generator=g), torch.tensor([421.375]), torch.randn(10, 77, 8, generator=g)
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

        # Euler on the same folder: its linspace timesteps are fractional (999, 749.25, ...), which
        # diffusers' UNet embeds as they are
        from diffusers import EulerDiscreteScheduler

        pipe.scheduler = EulerDiscreteScheduler.from_pretrained(str(out / "scheduler"))
        ref = pipe(prompt="a red fox running through fresh snow", negative_prompt="blurry", num_frames=6, width=64, height=64,
                   num_inference_steps=5, guidance_scale=6.0, generator=torch.Generator("cpu").manual_seed(7),
                   output_type="np").frames[0]
        self.assertFalse(all(float(t).is_integer() for t in pipe.scheduler.timesteps), "the check needs fractional timesteps")
        got = render(out, self.tmp / "frames_euler", "--prompt", "a red fox running through fresh snow", "--negative", "blurry",
                     "--frames", 6, "--width", 64, "--height", 64, "--steps", 5, "--guidance", 6, "--seed", 7,
                     "--scheduler", "EulerDiscreteScheduler")
        self.assertFramesClose(got, u8(ref), "animatediff Euler (fractional timesteps) 6 frames 64x64")

    def test_animatediff_fp16_keeps_a_float32_timestep(self):
        """--fp16 halves the UNet's float inputs but not its timestep: float16 cannot hold Euler's
        957.375 (it would be 957.5), so the input stays float32 and the fraction reaches the model."""
        base, adapter, out = self.tmp / "base", self.tmp / "adapter", self.tmp / "onnx"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        export("animatediff", "--base", base, "--motion-adapter", adapter, "--out", out, "--width", 32, "--height", 32,
               "--frames", 4, "--fp16")
        sig = onnx_inputs(out / "unet/model.onnx")
        self.assertEqual((sig["sample"][0], sig["timestep"][0]), ("tensor(float16)", "tensor(float)"))
        pipe = animatediff_pipe(base, adapter)
        g = torch.Generator().manual_seed(5)
        x, e = torch.randn(2, 4, 4, 4, 4, generator=g), torch.randn(8, 77, 8, generator=g)
        for t in (957.375, 957.0):
            got = session(out / "unet/model.onnx").run(None, {
                "sample": x.half().numpy(), "timestep": np.array([t], dtype=np.float32),
                "encoder_hidden_states": e.half().numpy()})[0]
            with torch.no_grad():
                ref = pipe.unet(x, torch.tensor([t]), encoder_hidden_states=e).sample
            self.assertClose(got.astype(np.float32), ref, 3e-2, f"animatediff fp16 unet at t={t}")


@unittest.skipUnless(HAVE, WHY)
class ExportCommandLine(Case):
    """What a careless command gets before anything loads, and a failed export leaves nothing."""

    def test_refused_before_loading_by_name(self):
        sd15, afile = self.tmp / "sd15", self.tmp / "afile"
        tiny_sd15_base(sd15)
        afile.write_text("x")
        out = self.tmp / "out"
        for argv, said in (
            (("wan", "--base", sd15), f"--base {sd15} is a StableDiffusionPipeline (model_index.json); wan expects "
                                      "WanPipeline or WanImageToVideoPipeline"),
            (("svd", "--base", self.tmp), "a folder without model_index.json; expected a diffusers folder"),
            (("cogvideox", "--base", self.tmp / "nowhere" / "cog"), "no such folder"),
            (("svd", "--base", afile), "is a file; expected a diffusers folder or a Hugging Face repository id"),
            (("animatediff", "--base", sd15, "--motion-adapter", self.tmp / "no-adapter"), "--motion-adapter"),
            (("svd", "--base", afile, "--motionctrl", "x.ckpt"), "is a file"),
            (("svd",), "give --base (a diffusers checkpoint"),
        ):
            self.assertIn(said, export_refusal(*argv, "--out", out), argv)
            self.assertFalse(out.exists(), f"{argv}: the refusal left {out}")
        # a repository id with the Hub out of reach: said at once, not after huggingface_hub's retries
        import socket
        from unittest import mock

        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
        with mock.patch.dict(os.environ, env, clear=True):
            said = export_refusal("svd", "--base", "nobody/not-cached-anywhere", "--out", out)
        self.assertIn("--base nobody/not-cached-anywhere: not a local folder, and the Hugging Face Hub cannot be "
                      f"reached (127.0.0.1:{port}:", said)
        adapter = self.tmp / "adapter"
        tiny_motion_adapter(adapter)
        self.assertIn("is a file; give a folder for the model",
                      export_refusal("animatediff", "--base", sd15, "--motion-adapter", adapter, "--out", afile))
        # argparse's own refusal (exit 2) for a size that is not positive
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf), self.assertRaises(SystemExit) as e:
            import export_model

            export_model.main(["svd", "--base", str(sd15), "--out", str(out), "--width", "0"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("--width: must be a positive whole number", buf.getvalue())

    def test_a_failed_export_leaves_nothing_and_keeps_an_empty_out(self):
        base, adapter, out = self.tmp / "base", self.tmp / "adapter", self.tmp / "chosen"
        tiny_sd15_base(base)
        tiny_motion_adapter(adapter)
        out.mkdir()
        # a leftover of an export killed earlier (its process gone) is cleared on the way
        (self.tmp / ".chosen.partial-999999999").mkdir()
        said = export_refusal("animatediff", "--base", base, "--motion-adapter", adapter, "--out", out,
                              "--width", 32, "--height", 32, "--frames", 4, "--tolerance", "1e-12")
        self.assertIn("differs from torch", said)
        self.assertEqual(list(out.iterdir()), [], "the failed export wrote into --out")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["adapter", "base", "chosen"])


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
    def _cog(self, variant: str, external_data: bool = False, size: int | None = None, extra: tuple = ()):
        from diffusers import CogVideoXPipeline

        import export_lib

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, variant)
        limit = export_lib.TWO_GB
        if external_data:  # as if every graph were over 2 GB: weights go to model.onnx_data
            export_lib.TWO_GB = 1
        try:
            export("cogvideox", "--base", base, "--out", out, "--width", size or COG["size"],
                   "--height", size or COG["size"], "--frames", COG["frames"], "--keep-unfused", *extra)
        finally:
            export_lib.TWO_GB = limit
        if external_data:
            for c in ("text_encoder", "transformer", "vae_decoder"):
                self.assertTrue((out / c / "model.onnx_data").exists(), f"{c}/model.onnx_data was not written")
        pipe = CogVideoXPipeline.from_pretrained(str(base))
        pipe.set_progress_bar_config(disable=True)
        px = size or COG["size"]
        ref = pipe(prompt=COG["prompt"], negative_prompt="", num_frames=COG["frames"], height=px, width=px,
                   num_inference_steps=COG["steps"], guidance_scale=COG["guidance"],
                   generator=torch.Generator("cpu").manual_seed(COG["seed"]), output_type="np").frames[0]
        got = render(out, self.tmp / "frames", "--prompt", COG["prompt"], "--negative", "", "--frames", COG["frames"],
                     "--width", px, "--height", px, "--steps", COG["steps"], "--seed", COG["seed"],
                     "--guidance", COG["guidance"])
        self.assertFramesClose(got, u8(ref), f"cogvideox {variant} {COG['frames']} frames {px}px")
        return pipe, out

    def test_cogvideox_2b_off_its_sample_size_matches_diffusers(self):
        """CogVideoX-2B off its config's sample size: diffusers rebuilds the sincos position table
        for each size in Python (through `.data` writes a tracer does not record: the real 2B at
        352x240 once came out 1.76 from torch). The export takes the table as its pos_embedding
        input, computed by the engine, so one export renders other sizes too (its VAE decoder
        stays fixed to the exported frame count)."""
        pipe, out = self._cog("2b", size=48)
        self.assertIn("pos_embedding", onnx_inputs(out / "transformer/model.onnx"))
        for px, frames in ((32, COG["frames"]), (64, COG["frames"])):  # the config's sample size; a larger one
            ref = pipe(prompt=COG["prompt"], negative_prompt="", num_frames=frames, height=px, width=px,
                       num_inference_steps=COG["steps"], guidance_scale=COG["guidance"],
                       generator=torch.Generator("cpu").manual_seed(COG["seed"]), output_type="np").frames[0]
            got = render(out, self.tmp / f"frames{px}-{frames}", "--prompt", COG["prompt"], "--negative", "",
                         "--frames", frames, "--width", px, "--height", px, "--steps", COG["steps"],
                         "--seed", COG["seed"], "--guidance", COG["guidance"])
            self.assertFramesClose(got, u8(ref), f"cogvideox 2b exported at 48px, rendered {frames} frames {px}px")

    def test_cogvideox_2b_off_its_sample_frames_says_its_frames(self):
        """A 2B export traced at other frames than its config's sample_frames: the transformer is
        symbolic, but the VAE decoder is fixed to the traced frames, so dolly.json's nativeFrames
        (which the engine takes over the decoder's own count) must be those frames, not
        sample_frames (9 here, which the decoder's 2 latent frames cannot give)."""
        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_cogvideox(base, "2b")
        export("cogvideox", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 5)
        self.assertEqual(json.loads((out / "dolly.json").read_text())["nativeFrames"], 5)

    def test_cogvideox_2b_external_data_matches_diffusers(self):
        pipe, out = self._cog("2b", external_data=True)
        self.assertEqual(list(onnx_inputs(out / "transformer/model.onnx")),
                         ["hidden_states", "encoder_hidden_states", "timestep", "pos_embedding"])
        # fusion rewrites the graph only: the weights stay in model.onnx_data, read by both graphs
        g = torch.Generator().manual_seed(6)
        self.assertFused(out / "transformer", {"hidden_states": torch.randn(2, 3, 4, 4, 4, generator=g),
                                               "encoder_hidden_states": torch.randn(2, 226, 32, generator=g),
                                               "timestep": torch.tensor([400, 400]),
                                               "pos_embedding": torch.randn(3 * 2 * 2, 32, generator=g)},
                         "cogvideox 2b transformer (external data)")

    def test_cogvideox_t5_fp16_with_float32_islands(self):
        """--fp16-text-encoder on CogVideoX: T5 in float16 (float32 where it would overflow), as the
        catalog's commands and the README's VRAM table assume; the engine reads its float16 output and
        the clip still matches diffusers' float32 run."""
        pipe, out = self._cog("2b", extra=("--fp16-text-encoder",))
        self.assertEqual(json.loads((out / "dolly.json").read_text())["precision"]["text_encoder"], "fp16")
        ids = torch.randint(0, 32128, (1, 226), generator=torch.Generator().manual_seed(8))
        with torch.no_grad():
            ref = pipe.text_encoder(ids)[0]
        got = session(out / "text_encoder/model.onnx").run(None, {"input_ids": ids.numpy()})[0]
        self.assertEqual(got.dtype, np.float16)
        scale = float(ref.abs().max())
        self.assertClose(got.astype(np.float32) / scale, ref.numpy() / scale, 2e-2, "cogvideox T5 float16 (relative)")

    def test_text_encoder_and_wan_only_options_are_refused_by_name_elsewhere(self):
        """The option checks before any loading: --fp16-text-encoder names the pipelines whose
        T5 / UMT5 it applies to (CLIP stays float32), the Wan-only options name Wan; nothing is
        written."""
        base = self.tmp / "base"
        for argv, said in (
            (("svd", "--fp16-text-encoder"), "--fp16-text-encoder applies to cogvideox and wan"),
            (("animatediff", "--motion-adapter", "x", "--fp16-text-encoder"), "CLIP stays float32"),
            (("cogvideox", "--resolution", "720p"), "apply to wan only"),
            (("svd", "--flow-shift", "3"), "apply to wan only"),
        ):
            out = self.tmp / f"refused-{argv[0]}-{argv[-1]}"
            self.assertIn(said, export_refusal(*argv, "--base", base, "--out", out))
            self.assertFalse(out.exists(), f"{argv}: the refusal left {out}")

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

    def test_cogvideox_15_text_to_video_matches_diffusers(self):
        """CogVideoX 1.5 text-to-video: 9 frames give 3 latent frames, padded to 4 for patch_size_t 2
        and dropped again before decoding; RoPE on the 'slice' grid."""
        self._cog("1.5")

    def test_cogvideox_15_image_to_video_export(self):
        """CogVideoX 1.5 I2V: RoPE, patch_size_t 2, ofs and the VAE encoder are exported and match torch;
        dolly render (the engine's image-to-video CogVideoX) and the same recipe run on the ONNX
        files in Python both equal diffusers' CogVideoXImageToVideoPipeline. 9 frames give 3 latent
        frames, padded to 4 for patch_size_t 2 (the padding frame is dropped before decoding)."""
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
        frames = render(out, self.tmp / "frames", "--image", IMAGE, "--prompt", COG["prompt"], "--negative", "",
                        "--frames", 9, "--width", 32, "--height", 32, "--steps", 3, "--seed", 7,
                        "--guidance", COG["guidance"])
        self.assertFramesClose(frames, u8(ref), "cogvideox 1.5 i2v 9 frames 32px")


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

    def test_cpu_where_holds_its_two_selections(self):
        """The CPU provider's Where broadcasts the condition with X and with Y into two temporaries
        before it writes its output: a masked position bias (UMT5's, [B, N, S, S] under a
        [B, 1, S, S] mask) holds twice its size while it is made. The CPU estimate counts them and
        matches onnxruntime's measured peak; without them it is a third short."""
        import onnx
        from onnx import TensorProto, helper

        from activation_memory import graph_memory
        from bench_memory import measure

        n, s = 32, 512  # X and the output: 32 MiB each in float32
        g = helper.make_graph(
            [helper.make_node("Where", ["mask", "bias", "low"], ["masked"])], "where",
            [helper.make_tensor_value_info("mask", TensorProto.BOOL, [1, 1, s, s]),
             helper.make_tensor_value_info("bias", TensorProto.FLOAT, [1, n, s, s])],
            [helper.make_tensor_value_info("masked", TensorProto.FLOAT, [1, n, s, s])],
            [helper.make_tensor("low", TensorProto.FLOAT, [], [-3.0e38])])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        path = self.tmp / "where.onnx"
        onnx.save_model(model, str(path))
        m = measure(path, {"mask": ("bool", [1, 1, s, s], True), "bias": ("float32", [1, n, s, s], None)})
        self.assertNotIn("error", m, m.get("error"))
        held = m["peakBytes"] + s * s + n * s * s * 4  # the run's peak and its inputs (held throughout)
        cpu = graph_memory(model, cpu=True).peak({})[0]
        gpu = graph_memory(model).peak({})[0]
        note(f"lone Where [1,{n},{s},{s}]: measured {held / 2**20:.1f} MiB, CPU estimate {cpu / 2**20:.1f}, "
             f"without the kernel's temporaries {gpu / 2**20:.1f}")
        self.assertLess(abs(held / cpu - 1), 0.1)
        self.assertGreater(held / gpu, 1.3)

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
# Wan 2.1 / 2.2 (tiny configs after diffusers' tests/pipelines/wan/)


def _wan_classes():
    from diffusers import WanTransformer3DModel

    # diffusers loads WanTransformer3DModel's float32 islands only with accelerate; all float32 here
    WanTransformer3DModel._keep_in_fp32_modules = None


def tiny_wan_vae(version: str = "2.1"):
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    if version == "2.1":
        return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                temperal_downsample=[False, True, True]).eval()
    # Wan2.2's VAE: residual blocks, patchify 2, 16x spatial, 48 channels in the real one
    return AutoencoderKLWan(base_dim=4, decoder_base_dim=4, z_dim=12, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True], is_residual=True, patch_size=2, in_channels=12,
                            out_channels=12, scale_factor_spatial=16, latents_mean=[0.1 * i for i in range(12)],
                            latents_std=[1.0 + 0.1 * i for i in range(12)]).eval()


def tiny_wan_transformer(seed: int = 0, **kw):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    cfg = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
               text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
               rope_max_seq_len=32)
    cfg.update(kw)
    return WanTransformer3DModel(**cfg)


def tiny_umt5():
    from transformers import T5TokenizerFast, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    te = UMT5EncoderModel(UMT5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                     relative_attention_num_buckets=8)).eval()
    # UMT5's tokenizer is T5TokenizerFast with a larger vocabulary; the T5 one exercises the same path
    return te, T5TokenizerFast.from_pretrained(str(T5_TOKENIZER))


def wan_unipc(shift: float = 3.0):
    from diffusers import UniPCMultistepScheduler

    # as the Wan-AI diffusers repositories ship it
    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift)


def tiny_wan_t2v(path: Path):
    from diffusers import WanPipeline

    _wan_classes()
    te, tok = tiny_umt5()
    WanPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), transformer=tiny_wan_transformer(),
                scheduler=wan_unipc()).save_pretrained(path)


def tiny_wan_clip():
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    enc = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                         num_attention_heads=2, image_size=32, intermediate_size=16,
                                                         patch_size=4)).eval()
    return enc, CLIPImageProcessor(crop_size=32, size=32)


def tiny_wan_i2v(path: Path):
    """Wan2.1 I2V: CLIP image embeddings, 4 mask channels and the image's latents (36 channels in)."""
    from diffusers import WanImageToVideoPipeline

    _wan_classes()
    te, tok = tiny_umt5()
    enc, proc = tiny_wan_clip()
    WanImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), scheduler=wan_unipc(),
                            image_processor=proc, image_encoder=enc,
                            transformer=tiny_wan_transformer(in_channels=36, image_dim=4)).save_pretrained(path)


def tiny_wan_ti2v(path: Path):
    """Wan2.2 TI2V-5B: the 2.2 VAE (16x, 48 channels), per-token timesteps (expand_timesteps)."""
    from diffusers import AutoencoderKLWan, WanPipeline

    _wan_classes()
    te, tok = tiny_umt5()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
                           latents_mean=[0.02 * i for i in range(48)], latents_std=[1.0 + 0.01 * i for i in range(48)],
                           dim_mult=[1, 1, 1, 1], num_res_blocks=1, scale_factor_spatial=16, scale_factor_temporal=4,
                           temperal_downsample=[False, True, True])
    WanPipeline(tokenizer=tok, text_encoder=te, vae=vae, scheduler=wan_unipc(), expand_timesteps=True,
                transformer=tiny_wan_transformer(in_channels=48, out_channels=48)).save_pretrained(path)


def tiny_wan_a14b(path: Path):
    """Wan2.2 A14B: a high-noise and a low-noise expert, switched at boundary_ratio 0.875."""
    from diffusers import WanPipeline

    _wan_classes()
    te, tok = tiny_umt5()
    WanPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), scheduler=wan_unipc(), boundary_ratio=0.875,
                transformer=tiny_wan_transformer(seed=0), transformer_2=tiny_wan_transformer(seed=1)).save_pretrained(path)


# VideoX-Fun (aigc-apps/VideoX-Fun) for the Wan-Fun Control-Camera reference: a git archive of its
# files outside this repository (videox_fun/models/wan_transformer3d.py, wan_camera_adapter.py,
# attention_utils.py, cache_utils.py, utils/cfg_optimization.py, data/utils.py,
# pipeline/pipeline_wan_fun_control.py), and einops for its pose code
VIDEOX_FUN_SRC = Path(os.environ.get("VIDEOX_FUN_SRC", "/root/.cache/videox-fun-src"))
_VXF_FILES = ["videox_fun/models/wan_transformer3d.py", "videox_fun/models/wan_camera_adapter.py",
              "videox_fun/models/attention_utils.py", "videox_fun/models/cache_utils.py",
              "videox_fun/utils/cfg_optimization.py", "videox_fun/data/utils.py",
              "videox_fun/pipeline/pipeline_wan_fun_control.py"]
_VXF_MISSING = [f for f in _VXF_FILES if not (VIDEOX_FUN_SRC / f).exists()]
if importlib.util.find_spec("einops") is None:
    _VXF_MISSING.append("einops (pip)")
VXF_WHY = (f"VideoX-Fun's code is not at VIDEOX_FUN_SRC={VIDEOX_FUN_SRC} ({', '.join(_VXF_MISSING)} missing): "
           f"git archive aigc-apps/VideoX-Fun there to run the Wan-Fun Control-Camera reference") if _VXF_MISSING else ""


def videox_fun():
    """VideoX-Fun's WanTransformer3DModel (its model code, its camera adapter, SDPA attention on the
    CPU), its pose functions (Camera, get_relative_pose, ray_condition, process_pose_file) and the
    pipeline's 4-frame grouping statements. Its package __init__s import GPU and video libraries
    this test does not use; the modules are loaded with the multi-GPU helpers stubbed (one
    process: rank 0 of 1) and without the triton kernels of an attention Wan-Fun does not use."""
    import ast
    import types
    from einops import rearrange
    from packaging import version as pver

    src = VIDEOX_FUN_SRC
    for name in ("videox_fun", "videox_fun.models"):
        if name not in sys.modules:
            m = types.ModuleType(name)
            m.__path__ = [str(src / name.replace(".", "/"))]
            sys.modules[name] = m
    dist = types.ModuleType("videox_fun.dist")
    dist.get_sequence_parallel_rank = lambda: 0
    dist.get_sequence_parallel_world_size = lambda: 1
    dist.get_sp_group = lambda: None
    dist.usp_attn_forward = dist.xFuserLongContextAttention = None
    sys.modules["videox_fun.dist"] = dist
    # triton kernels of TurboWan's sparse attention, which Wan-Fun does not use
    kernel = types.ModuleType("videox_fun.models.attention_kernel")
    kernel._sparse_linear_attention = kernel.get_block_map = None
    sys.modules["videox_fun.models.attention_kernel"] = kernel
    spec = importlib.util.spec_from_file_location("videox_fun.utils.cfg_optimization",
                                                  src / "videox_fun/utils/cfg_optimization.py")
    cfg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cfg)
    utils = types.ModuleType("videox_fun.utils")
    utils.cfg_skip = cfg.cfg_skip
    sys.modules["videox_fun.utils"] = utils
    from videox_fun.models.wan_transformer3d import WanTransformer3DModel

    path = src / "videox_fun/data/utils.py"
    want = {"Camera", "custom_meshgrid", "get_relative_pose", "ray_condition", "process_pose_file"}
    tree = ast.parse(path.read_text())
    nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in want]
    ns = {"np": np, "torch": torch, "pver": pver, "rearrange": rearrange}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), ns)
    lines = (src / "videox_fun/pipeline/pipeline_wan_fun_control.py").read_text().splitlines()
    a = next(i for i, l in enumerate(lines) if "control_camera_latents = torch.concat(" in l)
    b = next(i for i in range(a, len(lines)) if "view(b, f // 4, c * 4, h, w).transpose(1, 2)" in lines[i])
    indent = min(len(l) - len(l.lstrip()) for l in lines[a:b + 1] if l.strip())
    grouping = "\n".join(l[indent:] for l in lines[a:b + 1])
    return WanTransformer3DModel, ns["process_pose_file"], grouping


def tiny_fun_camera(base: Path, fun: Path):
    """A diffusers Wan2.1 I2V base (UMT5, VAE, a CLIP vision tower of width 1280 with 257 tokens, as
    VideoX-Fun's i2v cross-attention and MLPProj assume) and a VideoX-Fun Control-Camera transformer
    in VideoX-Fun's format (config.json in its names, its state dict), built with VideoX-Fun's class."""
    from diffusers import WanImageToVideoPipeline
    from safetensors.torch import save_file
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    _wan_classes()
    te, tok = tiny_umt5()
    torch.manual_seed(0)
    enc = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=1280, projection_dim=4, num_hidden_layers=2,
                                                         num_attention_heads=2, image_size=32, intermediate_size=16,
                                                         patch_size=2)).eval()
    WanImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), scheduler=wan_unipc(),
                            image_processor=CLIPImageProcessor(crop_size=32, size=32), image_encoder=enc,
                            transformer=tiny_wan_transformer(in_channels=36, image_dim=1280)).save_pretrained(base)
    Vxf, _, _ = videox_fun()
    torch.manual_seed(3)
    tr = Vxf(model_type="i2v", patch_size=(1, 2, 2), text_len=512, in_dim=32, dim=24, ffn_dim=32, freq_dim=256,
             text_dim=32, out_dim=16, num_heads=2, num_layers=2, qk_norm=True, cross_attn_norm=True, eps=1e-6,
             add_control_adapter=True, in_dim_control_adapter=24, downscale_factor_control_adapter=8)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():  # VideoX-Fun zero-initialises the head: random weights everywhere instead
        for name, p in tr.named_parameters():
            p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g) if "norm" in name and p.ndim == 1
                    else 0.3 * torch.randn(p.shape, generator=g))
    fun.mkdir(parents=True)
    tr.save_config(str(fun))
    save_file({k: v.contiguous() for k, v in tr.state_dict().items()}, str(fun / "diffusion_pytorch_model.safetensors"))
    return tr.eval()


def write_pose_txt(path: Path, n: int, yaw_deg: float, move: list[float]):
    """A RealEstate10K / CameraCtrl pose file with VideoX-Fun's asset intrinsics: the camera turns
    about y and moves, starting away from the identity."""
    lines = ["https://example.com/dolly-test-path"]
    for i in range(n):
        a = math.radians(yaw_deg) * i / max(1, n - 1) + 0.2
        R = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        t = np.array(move) * i / max(1, n - 1) + np.array([0.3, -0.1, 0.5])
        row = [i, 0.532139961, 0.946026558, 0.5, 0.5, 0, 0]
        for r in range(3):
            row += [*R[r], t[r]]
        lines.append(" ".join(repr(float(v)) for v in row))
    path.write_text("\n".join(lines) + "\n")


def fun_camera_reference(base_pipe, tr, pose_file: Path, image_path: Path, prompt: str, negative: str, frames: int,
                         height: int, width: int, steps: int, guidance: float, seed: int):
    """VideoX-Fun's WanFunControlPipeline.__call__ (pipeline_wan_fun_control.py) with a camera path and
    a start image, as predict_v2v_control_camera.py calls it, step for step in PyTorch: VideoX-Fun's
    transformer and pose code; diffusers' UMT5, Wan VAE and CLIP tower stand for VideoX-Fun's copies
    of the same networks; its Flow sampler (config/wan2.1/wan_civitai.yaml)."""
    import torch.nn.functional as F
    from diffusers import FlowMatchEulerDiscreteScheduler
    from PIL import Image

    _, process_pose_file, grouping = videox_fun()
    tok, te, vae, enc = base_pipe.tokenizer, base_pipe.text_encoder, base_pipe.vae, base_pipe.image_encoder

    def t5(text):  # _get_t5_prompt_embeds: the raw prompt (no prompt_clean), trimmed to the mask
        ti = tok([text], padding="max_length", max_length=512, truncation=True, add_special_tokens=True,
                 return_tensors="pt")
        seq = ti.attention_mask.gt(0).sum(dim=1).long()
        e = te(ti.input_ids, attention_mask=ti.attention_mask)[0]
        return [u[:v] for u, v in zip(e, seq)]

    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=5.0, use_dynamic_shifting=False,
                                            base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                            max_image_seq_len=4096)
    with torch.no_grad():
        context = t5(negative) + t5(prompt)
        sched.set_timesteps(steps, mu=1)
        lf, h, w = (frames - 1) // 4 + 1, height // 8, width // 8
        latents = torch.randn((1, 16, lf, h, w), generator=torch.Generator("cpu").manual_seed(seed))
        plucker = process_pose_file(str(pose_file), width, height)
        ns = {"torch": torch, "control_camera_video": plucker[:frames].permute([3, 0, 1, 2]).unsqueeze(0)}
        exec(grouping, ns)
        camera = ns["control_camera_latents"]
        # get_image_latent (PIL resize, bicubic by default) -> VaeImageProcessor.preprocess ([-1, 1]) -> VAE mode
        start = Image.open(image_path).convert("RGB").resize((width, height))
        x = torch.from_numpy(np.array(start)).unsqueeze(0).permute([3, 0, 1, 2]).unsqueeze(0) / 255
        mu = vae.encode(x * 2 - 1).latent_dist.mode()
        mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
        inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
        conv_in = torch.zeros_like(latents)
        conv_in[:, :, :1] = (mu - mean) * inv_std
        # CLIPModel.forward: the original image in [-1, 1], bicubic to the tower's size, CLIP mean/std
        ci = torch.from_numpy(np.array(Image.open(image_path).convert("RGB"))).permute(2, 0, 1).float() / 255
        ci = ci.sub_(0.5).div_(0.5)[:, None]
        ci = F.interpolate(ci.transpose(0, 1), size=(enc.config.image_size,) * 2, mode="bicubic", align_corners=False)
        ci = (ci.mul_(0.5).add_(0.5) - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        clip = enc(ci, output_hidden_states=True).hidden_states[-2]
        seq_len = math.ceil((h * w) / 4 * lf)
        for t in sched.timesteps:
            noise = tr(x=torch.cat([latents] * 2), t=t.expand(2), context=context, seq_len=seq_len,
                       y=torch.cat([conv_in] * 2), y_camera=torch.cat([camera] * 2), clip_fea=torch.cat([clip] * 2))
            u, c = noise.chunk(2)
            latents = sched.step(u + guidance * (c - u), t, latents, return_dict=False)[0]
        video = vae.decode(latents / inv_std + mean).sample
    return (video / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 3, 0).numpy()


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def wan_pipe(base: Path, cls: str = "WanPipeline"):
    import diffusers

    _wan_classes()
    pipe = getattr(diffusers, cls).from_pretrained(str(base))
    pipe.set_progress_bar_config(disable=True)
    return pipe


WAN = dict(prompt="a red fox running through fresh snow", negative="blurry, static", frames=9, size=32, steps=4, seed=7,
           guidance=5.0)


def wan_flags(w=WAN, **over):
    w = {**w, **over}
    return ["--prompt", w["prompt"], "--negative", w["negative"], "--frames", w["frames"], "--width", w["size"],
            "--height", w["size"], "--steps", w["steps"], "--seed", w["seed"], "--guidance", w["guidance"]]


@unittest.skipUnless(HAVE, WHY)
class ExportWan(Case):
    def assertWanMemory(self, out: Path, dolly: dict, components: list[str]):
        """dolly.json "memory" has an activation rule (fused and as exported) for each component; the
        transformer's follows the clip's frames, the others' do not (the VAE: one latent frame per
        call); the VAE decoder's rule holds at least what a steady call of its graph returns
        (4 frames and the caches, full size), and the graph's frames after its first_chunk
        selection are known to the estimate (not left as unknown, i.e. counted as 0)."""
        import onnx
        from activation_memory import ActivationRule
        from fuse_attention import infer_shapes_and_types

        mem = dolly["memory"]
        self.assertEqual(sorted(mem), sorted(components))
        W0, H0, F0 = dolly["nativeWidth"], dolly["nativeHeight"], dolly["nativeFrames"]
        for c in components:
            for key in ("activations", "activationsUnfused"):
                self.assertIn(key, mem[c], f"{c}: dolly.json memory has no {key}")
            rule = ActivationRule.from_json(mem[c]["activations"])
            frame_terms = [t for t in rule.terms + [t for _, ts in rule.more for t in ts] if t[0] > 0]
            self.assertEqual(rule.F0, F0 if c.startswith("transformer") else 1, c)
            if c.startswith("transformer"):
                self.assertGreater(rule.bytes(2, 2 * F0, W0, H0), rule.bytes(2, F0, W0, H0), f"{c}: frames do not count")
            else:
                self.assertEqual(frame_terms, [], f"{c}: a rule for calls whose size the clip does not set has frame terms")
            self.assertGreater(rule.bytes(1, rule.F0, W0, H0), 0, c)
            self.assertLess(rule.fit_error, 0.1, f"{c}: the rule is {rule.fit_error:.1%} off the graph on its grid")
            note(f"wan {c}: activations at {W0}x{H0} batch 2 {rule.bytes(2, rule.F0, W0, H0) / 2**20:.1f} MiB "
                 f"(unfused {ActivationRule.from_json(mem[c]['activationsUnfused']).bytes(2, rule.F0, W0, H0) / 2**20:.1f} MiB)")
        path = out / "vae_decoder/model.onnx"
        sess = session(path)
        z = np.zeros((1, 16, 1, H0 // 8, W0 // 8), dtype=np.float32)
        zeros = {i.name: np.zeros((1, i.shape[1], i.shape[2], 1, 1), dtype=np.float32)
                 for i in sess.get_inputs() if i.name.startswith("cache_in_")}
        first = sess.run(None, {"latent_sample": z, "first_chunk": np.array([1]), **zeros})
        caches = {f"cache_in_{i}": c for i, c in enumerate(first[1:])}
        steady = sess.run(None, {"latent_sample": z, "first_chunk": np.array([0]), **caches})
        self.assertEqual(steady[0].shape[2], 4)
        returned = sum(o.nbytes for o in steady)
        rule = ActivationRule.from_json(mem["vae_decoder"]["activations"])
        self.assertGreaterEqual(rule.bytes(1, 1, W0, H0), returned,
                                "the VAE decoder's rule is less than what one call returns")
        model = onnx.load(str(path), load_external_data=False)
        shapes = {"latent_sample": z.shape, "first_chunk": (1,), **{k: v.shape for k, v in caches.items()}}
        for values, want in ((None, None), ({"first_chunk": [0]}, 4), ({"first_chunk": [1]}, 1)):
            got = infer_shapes_and_types(model, shapes, values)[0]["sample"][2]
            self.assertEqual(got if isinstance(got, int) else None, want, f"sample frames with first_chunk {values}")

    def assertTiledDecode(self, out: Path, pipe, w_: int, h_: int, what: str):
        """The minimal plan decodes in diffusers' 256-pixel tiles every 192 pixels
        (AutoencoderKLWan.tiled_decode: each tile the whole clip with its own cache, the overlaps
        blended, then clamped): `dolly render --plan minimal` equals diffusers with the VAE's
        tiling on, `--plan offload` equals it with tiling off, and the two differ (the tiny VAE
        tells tiles from whole frames)."""
        flags = ["--prompt", WAN["prompt"], "--negative", WAN["negative"], "--frames", 5, "--width", w_,
                 "--height", h_, "--steps", 2, "--seed", WAN["seed"], "--guidance", WAN["guidance"]]
        call = dict(prompt=WAN["prompt"], negative_prompt=WAN["negative"], num_frames=5, height=h_, width=w_,
                    num_inference_steps=2, guidance_scale=WAN["guidance"], output_type="np")
        whole = pipe(**call, generator=torch.Generator("cpu").manual_seed(WAN["seed"])).frames[0]
        pipe.vae.enable_tiling()
        try:
            tiled = pipe(**call, generator=torch.Generator("cpu").manual_seed(WAN["seed"])).frames[0]
        finally:
            pipe.vae.disable_tiling()
        seams = int(np.abs(u8(tiled) - u8(whole)).max())
        note(f"{what} {w_}x{h_}: diffusers' tiled decode differs from its whole-frame one by up to {seams}/255")
        self.assertGreater(seams, MAX_U8, "the tiny VAE does not tell tiles from the whole frame")
        got = render(out, self.tmp / f"frames-minimal-{w_}", *flags, "--plan", "minimal")
        self.assertFramesClose(got, u8(tiled), f"{what} {w_}x{h_} minimal (tiled VAE)", against="diffusers tiled")
        got = render(out, self.tmp / f"frames-offload-{w_}", *flags, "--plan", "offload")
        self.assertFramesClose(got, u8(whole), f"{what} {w_}x{h_} offload (whole frames)")

    def test_wan_t2v_matches_diffusers(self):
        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_wan_t2v(base)
        log = export("wan", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9)
        self.assertIn("vae_decoder", log)
        sig = onnx_inputs(out / "text_encoder/model.onnx")
        self.assertEqual(list(sig), ["input_ids", "attention_mask"])
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(list(sig), ["hidden_states", "timestep", "encoder_hidden_states"])
        self.assertEqual(sig["timestep"][0], "tensor(float)")
        dec = onnx_inputs(out / "vae_decoder/model.onnx")
        self.assertEqual(list(dec)[:3], ["latent_sample", "first_chunk", "cache_in_0"])
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual((dolly["nativeFrames"], dolly["nativeWidth"], dolly["nativeHeight"]), (81, 832, 480))
        self.assertEqual(dolly["defaults"], {"steps": 50, "guidance": 5.0, "fps": 16, "flowShift": 3.0})
        self.assertWanMemory(out, dolly, ["text_encoder", "transformer", "vae_decoder"])
        # activation_memory.py --folder refits the same rules from the folder alone (wan's render
        # bindings, the caches' sizes read from the graph)
        from activation_memory import ActivationRule, refit_folder

        refit = refit_folder(out, ["transformer", "vae_decoder"], log=lambda *_: None)
        for c, (b, f) in {"transformer": (2, 81), "vae_decoder": (1, 1)}.items():
            for w_, h_ in ((832, 480), (1280, 720)):
                want = ActivationRule.from_json(dolly["memory"][c]["activations"]).bytes(b, f, w_, h_)
                got = ActivationRule.from_json(refit[c]["activations"]).bytes(b, f, w_, h_)
                self.assertAlmostEqual(got / want, 1.0, 3, f"{c} at {w_}x{h_}: refit {got:.4g} vs export {want:.4g}")
        pipe = wan_pipe(base)
        # components vs torch at a size other than the traced one (2 latent frames, 48x32)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            x, t, e = torch.randn(2, 16, 2, 6, 4, generator=g), torch.tensor([512.0, 512.0]), torch.randn(2, 512, 32, generator=g)
            self.assertClose(session(out / "transformer/model.onnx").run(None, {
                "hidden_states": x.numpy(), "timestep": t.numpy(), "encoder_hidden_states": e.numpy()})[0],
                pipe.transformer(hidden_states=x, timestep=t, encoder_hidden_states=e).sample, COMPONENT_TOL,
                "wan transformer (2 latent frames, 48x32)")
            ids = torch.randint(1, 32128, (1, 512), generator=g)
            mask = torch.zeros(1, 512, dtype=torch.int64)
            mask[:, :20] = 1
            self.assertClose(session(out / "text_encoder/model.onnx").run(None, {
                "input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0],
                pipe.text_encoder(ids, mask).last_hidden_state, COMPONENT_TOL, "wan UMT5 encoder with a mask")
        ref = pipe(prompt=WAN["prompt"], negative_prompt=WAN["negative"], num_frames=WAN["frames"], height=WAN["size"],
                   width=WAN["size"], num_inference_steps=WAN["steps"], guidance_scale=WAN["guidance"],
                   generator=torch.Generator("cpu").manual_seed(WAN["seed"]), output_type="np").frames[0]
        got = render(out, self.tmp / "frames", *wan_flags())
        self.assertFramesClose(got, u8(ref), "wan2.1 t2v 9 frames 32px")
        other = render(out, self.tmp / "frames2", *wan_flags(prompt="a lighthouse on a cliff at dusk"))
        d = int(np.abs(other - got).max())
        note(f"wan t2v: another prompt moves the frames by up to {d}/255")
        self.assertGreater(d, 2, "the prompt does not reach the frames")
        self.assertTiledDecode(out, pipe, 336, 272, "wan2.1 t2v")  # latent 42x34: 2 x 2 tiles

    def _wan_call(self, pipe, image=None, **over):
        w = {**WAN, **over}
        kw = dict(prompt=w["prompt"], negative_prompt=w["negative"], num_frames=w["frames"], height=w["size"],
                  width=w["size"], num_inference_steps=w["steps"], guidance_scale=w["guidance"],
                  generator=torch.Generator("cpu").manual_seed(w["seed"]), output_type="np")
        if "guidance_2" in w:
            kw["guidance_scale_2"] = w["guidance_2"]
        if image is not None:
            kw["image"] = image
        return pipe(**kw).frames[0]

    def test_wan21_i2v_matches_diffusers(self):
        from PIL import Image

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_wan_i2v(base)
        export("wan", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9)
        self.assertEqual(json.loads((out / "model_index.json").read_text())["_class_name"], "WanImageToVideoPipeline")
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(list(sig), ["hidden_states", "timestep", "encoder_hidden_states", "encoder_hidden_states_image"])
        self.assertEqual(sig["hidden_states"][1][1], 36)
        enc = onnx_inputs(out / "vae_encoder/model.onnx")
        self.assertEqual(list(enc)[:3], ["sample", "first_chunk", "cache_in_0"])
        pipe = wan_pipe(base, "WanImageToVideoPipeline")
        self.assertIn("Pil", type(pipe.image_processor).__name__, "diffusers' CLIP preprocessing here is PIL's")
        image = Image.open(IMAGE).convert("RGB")
        ref = self._wan_call(pipe, image)
        got = render(out, self.tmp / "frames", *wan_flags(), "--image", IMAGE)
        self.assertFramesClose(got, u8(ref), "wan2.1 i2v 9 frames 32px")
        other = render(out, self.tmp / "frames2", *wan_flags(), "--image", SHARED / "fixtures/images/chelsea.png")
        d = int(np.abs(other - got).max())
        note(f"wan2.1 i2v: another image moves the frames by up to {d}/255")
        self.assertGreater(d, 8, "the image does not reach the frames")

    def test_wan22_ti2v_5b_text_and_image_match_diffusers(self):
        from PIL import Image

        base, out, out_i2v = self.tmp / "base", self.tmp / "onnx", self.tmp / "onnx_i2v"
        tiny_wan_ti2v(base)
        export("wan", "--base", base, "--out", out, "--width", 64, "--height", 64, "--frames", 9)
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(len(sig["timestep"][1]), 2, "TI2V takes one timestep per token [batch, tokens]")
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual((dolly["sizeMultiple"], dolly["nativeFrames"], dolly["defaults"]["fps"]), (32, 121, 24))
        # 1280x704: flow_shift 5, as diffusers' Wan docs set it for 720p
        self.assertEqual(dolly["defaults"]["flowShift"], 5.0)
        self.assertEqual(json.loads((out / "scheduler/scheduler_config.json").read_text())["flow_shift"], 5.0)
        ti2v = dict(size=64)

        def shifted(pipe):
            from diffusers import UniPCMultistepScheduler

            pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=5.0)
            return pipe

        ref = self._wan_call(shifted(wan_pipe(base)), **ti2v)
        got = render(out, self.tmp / "frames", *wan_flags(**ti2v))
        self.assertFramesClose(got, u8(ref), "wan2.2 ti2v-5b text-to-video 9 frames 64px")
        # the 2.2 VAE (16x, unpatchify 2): diffusers blends its tiles in 2x2 pixel blocks
        self.assertTiledDecode(out, shifted(wan_pipe(base)), 320, 288, "wan2.2 ti2v-5b")  # latent 20x18
        export("wan", "--base", base, "--out", out_i2v, "--width", 64, "--height", 64, "--frames", 9, "--image-to-video")
        self.assertEqual(json.loads((out_i2v / "model_index.json").read_text())["_class_name"], "WanImageToVideoPipeline")
        self.assertEqual(list(onnx_inputs(out_i2v / "vae_encoder/model.onnx")), ["sample"])
        # a PNG: the engine decodes images with ffmpeg, whose JPEG decoding differs from PIL's by up to
        # 3/255 per pixel, and TI2V's first frame is the image's own latents
        png = SHARED / "fixtures/images/chelsea.png"
        image = Image.open(png).convert("RGB")
        ref = self._wan_call(shifted(wan_pipe(base, "WanImageToVideoPipeline")), image, **ti2v)
        got = render(out_i2v, self.tmp / "frames_i2v", *wan_flags(**ti2v), "--image", png)
        self.assertFramesClose(got, u8(ref), "wan2.2 ti2v-5b image-to-video 9 frames 64px")

    def test_wan22_a14b_switches_experts_at_the_boundary(self):
        import export_lib

        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_wan_a14b(base)
        limit = export_lib.TWO_GB
        export_lib.TWO_GB = 1  # as if every graph were over 2 GB: weights go to model.onnx_data
        try:
            export("wan", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9)
        finally:
            export_lib.TWO_GB = limit
        for c in ("text_encoder", "transformer", "transformer_2", "vae_decoder"):
            self.assertTrue((out / c / "model.onnx_data").exists(), f"{c}/model.onnx_data was not written")
        self.assertEqual(json.loads((out / "model_index.json").read_text())["boundary_ratio"], 0.875)
        pipe = wan_pipe(base)
        # 4 steps at flow_shift 3: t = 999, 900, 750, 500; the low-noise expert from 750 (< 875) on
        a14b = dict(guidance_2=2.0)
        ref = self._wan_call(pipe, **a14b)
        got = render(out, self.tmp / "frames", *wan_flags(), "--guidance-2", 2.0)
        self.assertFramesClose(got, u8(ref), "wan2.2 a14b t2v (guidance 5 / 2) 9 frames 32px")
        # diffusers with the high-noise expert alone (boundary 0) renders another clip: the switch is real
        pipe.register_to_config(boundary_ratio=0.0)
        solo = self._wan_call(pipe, **a14b)
        d = int(np.abs(u8(solo) - got).max())
        note(f"wan2.2 a14b: without the low-noise expert diffusers' frames move by up to {d}/255")
        self.assertGreater(d, 8, "the low-noise expert does not reach the frames")

    @unittest.skipUnless(not _VXF_MISSING, VXF_WHY)
    def test_wan_fun_control_camera_matches_videox_fun(self):
        """Wan-Fun Control-Camera: VideoX-Fun's transformer (its class and weights, camera adapter
        included) exported over a diffusers base; the ONNX transformer equals VideoX-Fun's forward,
        and dolly render with a pose file equals the reference pipeline; another path changes the clip."""
        base, fun, out = self.tmp / "base", self.tmp / "fun", self.tmp / "onnx"
        vxf = tiny_fun_camera(base, fun)
        # the base's own transformer (the 14B I2V's, on a real export) is neither downloaded nor loaded
        (base / "transformer").rename(self.tmp / "base_transformer")
        log = export("wan", "--base", base, "--fun-camera", fun, "--out", out, "--width", 32, "--height", 32,
                     "--frames", 9)
        (self.tmp / "base_transformer").rename(base / "transformer")
        self.assertIn("VideoX-Fun's Flow sampler", log)
        index = json.loads((out / "model_index.json").read_text())
        self.assertEqual(index["_class_name"], "WanFunControlPipeline")
        sig = onnx_inputs(out / "transformer/model.onnx")
        self.assertEqual(list(sig), ["hidden_states", "timestep", "encoder_hidden_states", "encoder_hidden_states_image",
                                     "control_camera"])
        dolly = json.loads((out / "dolly.json").read_text())
        self.assertEqual((dolly["camera"], dolly["cameraFov"], dolly["defaults"]["guidance"]),
                         ("cameractrl-plucker", 55.7, 6.0))
        # the ONNX transformer against VideoX-Fun's forward on the same inputs (the key mapping and
        # where the camera features join)
        g = torch.Generator().manual_seed(8)
        x, y = torch.randn(2, 16, 3, 4, 4, generator=g), torch.randn(2, 16, 3, 4, 4, generator=g)
        ctx, clip = torch.randn(2, 512, 32, generator=g), torch.randn(2, 257, 1280, generator=g)
        cam, t = torch.randn(1, 24, 3, 32, 32, generator=g), torch.tensor([937.5, 937.5])
        lens = [20, 7]
        with torch.no_grad():
            ref = vxf(x=x, t=t, context=[ctx[0, :lens[0]], ctx[1, :lens[1]]], seq_len=12, y=y,
                      y_camera=torch.cat([cam] * 2), clip_fea=clip)
        padded = ctx.clone()
        padded[0, lens[0]:] = 0
        padded[1, lens[1]:] = 0
        got = session(out / "transformer/model.onnx").run(None, {
            "hidden_states": torch.cat([x, y], 1).numpy(), "timestep": t.numpy(), "encoder_hidden_states": padded.numpy(),
            "encoder_hidden_states_image": clip.numpy(), "control_camera": cam.numpy()})[0]
        scale = max(1.0, float(ref.abs().max()))
        note(f"wan-fun camera: VideoX-Fun's transformer output reaches {scale:.3g}")
        # VideoX-Fun's time embedding is computed in float64, diffusers' in float32: relative error
        self.assertClose(got / scale, ref.numpy() / scale, 5e-5,
                         "wan-fun camera: ONNX transformer vs VideoX-Fun's WanTransformer3DModel (relative)")
        pan, orbit = self.tmp / "pan.txt", self.tmp / "orbit.txt"
        write_pose_txt(pan, 12, 0, [0.6, 0, 0.1])
        write_pose_txt(orbit, 12, 35, [0, 0.3, -0.4])
        png = SHARED / "fixtures/images/chelsea.png"
        pipe = wan_pipe(base, "WanImageToVideoPipeline")
        frames = {}
        for name, path in (("pan", pan), ("orbit", orbit)):
            ref = fun_camera_reference(pipe, vxf, path, png, WAN["prompt"], WAN["negative"], 9, 32, 32, 4, 6.0, 7)
            frames[name] = render(out, self.tmp / f"frames_{name}", *wan_flags(guidance=6.0), "--image", png,
                                  "--camera", path)
            self.assertFramesClose(frames[name], u8(ref), f"wan-fun control-camera, {name} path",
                                   against="VideoX-Fun's pipeline")
        d = np.abs(frames["pan"] - frames["orbit"])
        note(f"wan-fun camera: pan vs orbit renders differ by up to {int(d.max())}/255 (mean {d.mean():.2f})")
        self.assertGreater(int(d.max()), 8, "a different camera path barely changes the frames")

    def test_wan_umt5_fp16_with_float32_islands(self):
        """--fp16-text-encoder: UMT5 in float16, float32 where its activations would overflow; the
        engine reads its float16 output and the clip still matches diffusers' float32 run."""
        base, out = self.tmp / "base", self.tmp / "onnx"
        tiny_wan_t2v(base)
        log = export("wan", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9,
                     "--fp16-text-encoder")
        self.assertIn("text_encoder: float16", log)
        self.assertEqual(json.loads((out / "dolly.json").read_text())["precision"]["text_encoder"], "fp16")
        pipe = wan_pipe(base)
        g = torch.Generator().manual_seed(6)
        ids = torch.randint(1, 32128, (1, 512), generator=g)
        mask = torch.zeros(1, 512, dtype=torch.int64)
        mask[:, :30] = 1
        with torch.no_grad():
            ref = pipe.text_encoder(ids, mask).last_hidden_state
        got = session(out / "text_encoder/model.onnx").run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        self.assertEqual(got.dtype, np.float16)
        scale = float(ref.abs().max())
        self.assertClose(got.astype(np.float32) / scale, ref.numpy() / scale, 2e-2, "wan UMT5 float16 (relative)")
        ref = self._wan_call(pipe)
        self.assertFramesClose(render(out, self.tmp / "frames", *wan_flags()), u8(ref), "wan2.1 t2v, UMT5 in float16")

    def test_wan_graphs_run_attention_fused(self):
        """Every attention of a Wan 2.1 I2V export is one MultiHeadAttention: UMT5's (relative position
        bias, padding mask), the transformer's self-attention (RMSNorm qk-norm, RoPE as stacked rotated
        halves), its text cross-attention and its image cross-attention (add_k_proj, as Wan2.1 I2V-14B
        has), CLIP's, and the causal VAE's mid-block attention in the chunked decoder and encoder graphs
        (which wan.py exports itself). Each fused graph gives the graph as exported's output."""
        from diffusers import WanImageToVideoPipeline

        base, out = self.tmp / "base", self.tmp / "onnx"
        _wan_classes()
        te, tok = tiny_umt5()
        enc, proc = tiny_wan_clip()
        WanImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), scheduler=wan_unipc(),
                                image_processor=proc, image_encoder=enc,
                                transformer=tiny_wan_transformer(in_channels=36, image_dim=4, added_kv_proj_dim=24)
                                ).save_pretrained(base)
        log = export("wan", "--base", base, "--out", out, "--width", 32, "--height", 32, "--frames", 9, "--keep-unfused")
        g = torch.Generator().manual_seed(11)
        mask = torch.zeros(2, 512, dtype=torch.int64)
        mask[0, :20], mask[1, :7] = 1, 1
        tokens = (32 // 4) ** 2 + 1  # the tiny CLIP's patches and its class token
        counts = {}
        feeds = {
            "text_encoder": {"input_ids": torch.randint(1, 32128, (2, 512), generator=g), "attention_mask": mask},
            "transformer": {"hidden_states": torch.randn(2, 36, 3, 4, 4, generator=g),
                            "timestep": torch.tensor([700.0, 700.0]),
                            "encoder_hidden_states": torch.randn(2, 512, 32, generator=g),
                            "encoder_hidden_states_image": torch.randn(2, tokens, 4, generator=g)},
            "image_encoder": {"pixel_values": torch.randn(1, 3, 32, 32, generator=g)},
        }
        for comp, x in (("vae_decoder", torch.randn(1, 16, 1, 4, 4, generator=g)),
                        ("vae_encoder", torch.rand(1, 3, 4, 32, 32, generator=g) * 2 - 1)):
            # a later chunk: the caches a first call leaves, at full size, and new frames
            sess = session(out / comp / "model.unfused.onnx")
            names = [i.name for i in sess.get_inputs()]
            zeros = {i.name: np.zeros((1, i.shape[1], i.shape[2], 1, 1), dtype=np.float32)
                     for i in sess.get_inputs() if i.name.startswith("cache_in_")}
            first = sess.run(None, {names[0]: x[:, :, :1].numpy(), "first_chunk": np.array([1]), **zeros})
            caches = {f"cache_in_{i}": torch.randn(c.shape, generator=g) for i, c in enumerate(first[1:])}
            feeds[comp] = {names[0]: x, "first_chunk": np.array([0]), **caches}
        self.assertEqual(sorted(feeds), sorted(d.name for d in out.iterdir() if (d / "model.onnx").exists()))
        for comp, f in feeds.items():
            counts[comp] = op_counts(out / comp / "model.unfused.onnx").get("Softmax", 0)
            self.assertIn(f"{comp}: attention fused: {counts[comp]} of {counts[comp]} Softmax", log)
            self.assertFused(out / comp, f, f"wan2.1 i2v {comp}")
        note(f"wan2.1 i2v Softmax -> MultiHeadAttention per component: {counts}")
        # 2 blocks x (self, text, image) attention; UMT5's 2 layers; CLIP's 2 layers less the last
        # (hidden_states[-2]); one mid-block attention in each VAE graph
        self.assertEqual(counts, {"text_encoder": 2, "transformer": 6, "image_encoder": 1, "vae_decoder": 1,
                                  "vae_encoder": 1})
        dolly = json.loads((out / "dolly.json").read_text())
        for comp, n in counts.items():
            self.assertEqual(dolly["memory"][comp]["attention"],
                             {"fused": n, "softmaxBefore": n, "softmax": 0, "multiHeadAttention": n}, comp)
        self.assertWanMemory(out, dolly, sorted(counts))

    def test_wan_random_weights_goes_through_the_same_path(self):
        """--random-weights wan2.1-t2v-1.3b: export_model builds it with random_models.build (here with a
        tiny stand-in builder: the real one is 1.4 G parameters plus UMT5-XXL) and wan.py exports that
        pipeline as it would a --base; the published config's pieces have Wan2.1 1.3B's sizes."""
        import random_models as R
        from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel

        with torch.device("meta"):
            tr = WanTransformer3DModel(**R.WAN21_T2V_1_3B_TRANSFORMER)
            vae = AutoencoderKLWan(**R.WAN21_VAE)
        self.assertEqual((tr.config.num_attention_heads * tr.config.attention_head_dim, len(tr.blocks), tr.config.patch_size),
                         (1536, 30, (1, 2, 2)))
        self.assertEqual((vae.config.z_dim, vae.config.scale_factor_spatial, vae.config.scale_factor_temporal), (16, 8, 4))
        self.assertEqual(UniPCMultistepScheduler(**R.WAN21_SCHEDULER).config.flow_shift, 3.0)
        out = self.tmp / "onnx"
        self.assertIn("--tokenizer", export_refusal("wan", "--random-weights", "wan2.1-t2v-1.3b", "--out", out))
        built = []

        def tiny(tokenizer, layers):
            from diffusers import WanPipeline

            built.append((tokenizer, layers))
            _wan_classes()
            te, tok = tiny_umt5()
            return WanPipeline(tokenizer=tok, text_encoder=te, vae=tiny_wan_vae(), transformer=tiny_wan_transformer(),
                               scheduler=wan_unipc())

        real = R.BUILDERS["wan2.1-t2v-1.3b"]
        R.BUILDERS["wan2.1-t2v-1.3b"] = tiny
        try:
            log = export("wan", "--random-weights", "wan2.1-t2v-1.3b", "--tokenizer", T5_TOKENIZER,
                         "--text-encoder-layers", 2, "--out", out, "--width", 32, "--height", 32, "--frames", 9)
        finally:
            R.BUILDERS["wan2.1-t2v-1.3b"] = real
        self.assertEqual(built, [(str(T5_TOKENIZER), 2)])
        self.assertIn("WanPipeline: one transformer", log)
        self.assertEqual(json.loads((out / "model_index.json").read_text())["_class_name"], "WanPipeline")
        self.assertEqual(sorted(json.loads((out / "dolly.json").read_text())["memory"]),
                         ["text_encoder", "transformer", "vae_decoder"])

    def test_wan_vae_chunked_decode_equals_whole_clip(self):
        """The chunked VAE graphs (one latent frame per call, the feature cache carried between calls)
        against diffusers' AutoencoderKLWan.decode / encode of the whole clip, 2.1 and 2.2 VAEs."""
        import export_lib
        import wan as W
        import wan_vae as V

        for version in ("2.1", "2.2"):
            vae = tiny_wan_vae(version)
            out = self.tmp / f"vae{version}"
            s = vae.config.scale_factor_spatial
            W.export_vae_decoder(vae, out, 4, 6, 1e-4, True)
            g = torch.Generator().manual_seed(5)
            z = torch.randn(1, vae.config.z_dim, 9, 4, 6, generator=g)
            with torch.no_grad():
                ref = vae.decode(z).sample.numpy()
                walked = V.decode_in_chunks(vae, z).numpy()
            got = W.onnx_chunked_decode(session(out / "vae_decoder/model.onnx"), z.numpy())
            self.assertEqual(got.shape, (1, 3, 33, 4 * s, 6 * s))
            self.assertClose(walked, ref, 1e-4, f"wan {version} VAE: torch chunk walk vs vae.decode, 9 latent frames")
            self.assertClose(got, ref, 1e-4, f"wan {version} VAE: chunked ONNX decode vs vae.decode, 9 latent frames")
            x = torch.rand(1, 3, 9 if version == "2.1" else 1, 4 * s, 6 * s, generator=g) * 2 - 1
            W.export_vae_encoder(vae, out, 4 * s, 6 * s, 1e-4, True)
            with torch.no_grad():
                ref_e = vae.encode(x).latent_dist.mean.numpy()
            got_e = W.onnx_chunked_encode(session(out / "vae_encoder/model.onnx"), x.numpy())
            self.assertClose(got_e, ref_e, 1e-4, f"wan {version} VAE: ONNX encode ({x.shape[2]} frames) vs vae.encode mean")
        del export_lib


    def test_wan_vae_decoder_writes_its_caches_as_it_goes(self):
        """onnxruntime runs a graph in its own order (a walk back from the leaf nodes), not the
        file's: the VAE decoder's 32 cache outputs are leaves, and in the order the exporter first
        wrote them every cache was cut at the very end of the run, holding each convolution's input
        until then (measured on the real-size Wan 2.1 decoder: 1.74 GiB held instead of 0.87).
        The exported graph has each cache written right after its convolution, with onnxruntime's
        optimizations on; and activation_memory.ort_order (the order the memory estimate walks) is
        the order onnxruntime runs, for the exported graph and for the same graph with its leaves
        in the old order."""
        import onnx
        import wan as W
        from activation_memory import graph_memory, order_leaves_for_ort, ort_order

        vae = tiny_wan_vae("2.1")
        out = self.tmp / "vae-order"
        W.export_vae_decoder(vae, out, 4, 6, 1e-4, True)
        path = out / "vae_decoder/model.onnx"
        sess = session(path)
        # 256x192: spatial sizes where activations, not the tiny model's constants, set the peak
        z = np.random.default_rng(0).standard_normal((1, 16, 1, 24, 32)).astype(np.float32)
        zeros = {i.name: np.zeros((1, i.shape[1], i.shape[2], 1, 1), dtype=np.float32)
                 for i in sess.get_inputs() if i.name.startswith("cache_in_")}
        first = sess.run(None, {"latent_sample": z, "first_chunk": np.array([1]), **zeros})
        feeds = {"latent_sample": z, "first_chunk": np.array([0]),
                 **{f"cache_in_{i}": c for i, c in enumerate(first[1:])}}
        model = onnx.load(str(path), load_external_data=False)
        again = onnx.ModelProto()
        again.CopyFrom(model)
        self.assertFalse(order_leaves_for_ort(again), "ordering the exported graph's leaves again moves them")
        producer = {o: n.name for n in model.graph.node for o in n.output}
        caches = [producer[o.name] for o in model.graph.output if o.name.startswith("cache_out_")]
        ran = ort_run_order(path, feeds, True, self.tmp)
        names = [n for n, _ in ran]
        at = [names.index(c) for c in caches]
        self.assertEqual(at, sorted(at), "the caches are not written in the walk's order")
        for k in range(len(at) - 1):
            convs = [op for _, op in ran[at[k] + 1:at[k + 1]] if "Conv" in op]
            self.assertTrue(convs, f"cache_out_{k} and cache_out_{k + 1} are cut with no convolution between them: "
                                   "the caches wait for the end of the run")
        # the estimate's order is onnxruntime's (optimizations off: the nodes are the file's)
        g = model.graph
        old = onnx.ModelProto()
        old.CopyFrom(model)
        read = {x for n in g.node for x in n.input}
        leaves = [n for n in g.node if not any(o in read for o in n.output)]
        # the exporter put the leaves last, the first written last; the old order is the reverse
        del old.graph.node[:]
        old.graph.node.extend([n for n in g.node if n not in leaves] + leaves[::-1])
        old_path = out / "vae_decoder/leaves-forward.onnx"
        onnx.save_model(old, str(old_path))
        shapes = {k: v.shape for k, v in feeds.items()}
        peaks = {}
        for label, m, pth in (("exported", model, path), ("leaves in file order", old, old_path)):
            want = [n for n, _ in ort_run_order(pth, feeds, False, self.tmp)]
            got = [m.graph.node[i].name for i in ort_order(m.graph) if m.graph.node[i].op_type != "Constant"]
            self.assertEqual(got, want, f"{label}: activation_memory.ort_order is not onnxruntime's order")
            peaks[label] = graph_memory(m, input_shapes=shapes, input_values={"first_chunk": [0]}).peak({})[0]
        note(f"wan VAE decoder estimate at 256x192: {peaks['exported'] / 2**10:.0f} KiB as exported, "
             f"{peaks['leaves in file order'] / 2**10:.0f} KiB with its leaves in file order")
        self.assertLess(peaks["exported"], peaks["leaves in file order"])


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
    f["timestep"] = np.asarray(f["timestep"], dtype=np.float32).reshape(1)
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
                x, t, e = torch.randn(2, 4, 4, 16, 16, generator=g), torch.tensor([500.0]), torch.randn(8, 77, 8, generator=g)
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
