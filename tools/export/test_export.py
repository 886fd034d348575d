#!/usr/bin/env python3
"""Tests for the export tool: convert tiny randomly initialised diffusers models and load the
results with the engine (dolly render). They need torch and diffusers; elsewhere they skip
and say why. Run: npm run test:export (or python3 tools/export/test_export.py)."""
import importlib.util
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAVE = all(importlib.util.find_spec(m) is not None for m in ("torch", "diffusers", "transformers", "onnx", "onnxruntime"))
WHY = "torch, diffusers, transformers, onnx and onnxruntime are not installed here (pip install -r tools/export/requirements.txt)"


@unittest.skipUnless(HAVE, WHY)
class ExportTinyModels(unittest.TestCase):
    def _render(self, model: Path, *extra):
        out = Path(tempfile.mkdtemp()) / "clip.gif"
        r = subprocess.run(["node", str(ROOT / "bin/dolly.mjs"), "render",
                            "--model", str(model), "--steps", "2", "--out", str(out), "--cpu", *extra],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(out.exists())

    def test_animatediff(self):
        import torch
        from diffusers import AutoencoderKL, DDIMScheduler, MotionAdapter, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

        sys.path.insert(0, str(Path(__file__).parent))
        import export_model

        tmp = Path(tempfile.mkdtemp())
        torch.manual_seed(0)
        unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
                                    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
                                    cross_attention_dim=8, norm_num_groups=2)
        vae = AutoencoderKL(block_out_channels=[8, 8], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                            up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=2)
        te = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=8, intermediate_size=16, layer_norm_eps=1e-05,
                                          num_attention_heads=2, num_hidden_layers=1, pad_token_id=1, vocab_size=49408))
        tok_dir = ROOT.parent / "shared/fixtures/tokenizers/clip"
        tok = CLIPTokenizer.from_pretrained(str(tok_dir))
        adapter = MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2, motion_num_attention_heads=2)
        base = tmp / "base"
        from diffusers import StableDiffusionPipeline
        StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet, scheduler=DDIMScheduler(), safety_checker=None,
                                feature_extractor=None, requires_safety_checker=False).save_pretrained(base)
        adapter.save_pretrained(tmp / "adapter")
        out = tmp / "onnx"
        export_model.main(["animatediff", "--base", str(base), "--motion-adapter", str(tmp / "adapter"), "--out", str(out), "--width", "64", "--height", "64"])
        self._render(out, "--prompt", "a test", "--frames", "16", "--width", "64", "--height", "64")

    def test_svd(self):
        import torch
        from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                               UNetSpatioTemporalConditionModel)
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

        sys.path.insert(0, str(Path(__file__).parent))
        import export_model

        tmp = Path(tempfile.mkdtemp())
        torch.manual_seed(0)
        # sizes after diffusers' own SVD pipeline test; the vision tower takes 224 like the real one
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
        base = tmp / "base"
        StableVideoDiffusionPipeline(vae=vae, image_encoder=enc, unet=unet, scheduler=sched,
                                     feature_extractor=CLIPImageProcessor(crop_size=224, size=224)).save_pretrained(base)
        out = tmp / "onnx"
        export_model.main(["svd", "--base", str(base), "--out", str(out), "--width", "32", "--height", "32"])
        image = ROOT.parent / "shared/fixtures/images/rocket.jpg"
        self._render(out, "--image", str(image), "--frames", "4", "--width", "32", "--height", "32")

    def test_cogvideox(self):
        import torch
        from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
        from transformers import T5Config, T5EncoderModel, T5TokenizerFast

        sys.path.insert(0, str(Path(__file__).parent))
        import export_model

        tmp = Path(tempfile.mkdtemp())
        torch.manual_seed(0)
        # sizes after diffusers' own CogVideoX pipeline test (2B-style: no rotary embeddings)
        tr = CogVideoXTransformer3DModel(num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4,
                                         time_embed_dim=2, text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2,
                                         sample_frames=9, patch_size=2, temporal_compression_ratio=4, max_text_seq_length=226)
        vae = AutoencoderKLCogVideoX(in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
                                     up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8),
                                     latent_channels=4, layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
        te = T5EncoderModel(T5Config(vocab_size=32128, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                     relative_attention_num_buckets=8))
        tok = T5TokenizerFast.from_pretrained(str(ROOT.parent / "shared/fixtures/tokenizers/t5"))
        base = tmp / "base"
        CogVideoXPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                          scheduler=CogVideoXDDIMScheduler()).save_pretrained(base)
        out = tmp / "onnx"
        export_model.main(["cogvideox", "--base", str(base), "--out", str(out), "--width", "16", "--height", "16", "--frames", "9"])
        self._render(out, "--prompt", "a test", "--frames", "9", "--width", "16", "--height", "16")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    skipped = len(result.skipped)
    # not the bare "N passed, N failed, N skipped" form: that closing line belongs to npm test's whole run
    print(f"export tool: passed {result.testsRun - len(result.failures) - len(result.errors) - skipped}, failed {len(result.failures) + len(result.errors)}, skipped {skipped}")
    sys.exit(0 if result.wasSuccessful() else 1)
