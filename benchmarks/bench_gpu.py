"""Training throughput on one GPU: a random-initialised ~0.5B Llama-shaped model in bf16 through a
few DPO and GRPO steps (pluralism reward), via the same `pluralign.train` code path as recipes.

What it measures, per method, into benchmarks/RESULTS.md (section "GPU training"):
- tokens/s: the tokens TRL counts as trained on (`num_tokens`: prompts and completions, padding
  excluded) divided by TRL's `train_runtime`;
- MFU (model FLOPs utilisation): 6 x parameters x those tokens / train_runtime / the device's peak
  dense bf16 FLOP/s (--peak-tflops, else the table PEAK_TFLOPS by device name: H100 and H200 989,
  A100 312). 6 x N x T counts the forward and backward passes of training only: GRPO's generation
  and its reference model's forward are work the GPU does that MFU does not count;
- peak memory: `torch.cuda.max_memory_allocated` over the run.
With --vllm, GRPO generates with vLLM colocated on the same GPU (TRL's `use_vllm`, 30% of its
memory; needs `pip install 'pluralign[vllm]'`); without vLLM installed that row says so.

    python benchmarks/bench_gpu.py                  # a GPU; under 10 minutes
    python benchmarks/bench_gpu.py --vllm           # also GRPO with vLLM rollouts
    python benchmarks/bench_gpu.py --cpu-tiny       # the same run, CPU-sized (tested); prints JSON only

Nothing is downloaded: the model is built from a LlamaConfig with the packaged MiniLM tokenizer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECTION = "GPU training"
# ~0.49B parameters with the 30,522-token vocabulary (Qwen2.5-0.5B-like depth and width).
GPU_SHAPE = {"hidden_size": 1024, "num_layers": 24, "intermediate": 4864, "heads": 16}
TINY_SHAPE = {"hidden_size": 64, "num_layers": 2, "intermediate": 128, "heads": 4}
# Peak dense bf16 tensor-core FLOP/s (no sparsity), in TFLOP/s, from the vendors' datasheets; the first
# name found in torch.cuda.get_device_name() wins (H100 PCIe before H100: the SXM part is faster).
PEAK_TFLOPS = {"H100 PCIe": 756.0, "H100 NVL": 835.0, "H200": 989.0, "GH200": 989.0, "H100": 989.0,
               "A100": 312.0, "L40S": 362.0, "A10G": 70.0, "L4": 121.0}


NOT_MEASURED = """Not measured: no GPU was available where the benchmarks ran, so tokens/s, MFU and peak memory
of DPO and GRPO (and of GRPO with vLLM rollouts) are unknown. On a machine with one GPU:

    python benchmarks/bench_gpu.py           # DPO and GRPO, ~0.5B random Llama, bf16: tokens/s, MFU, peak memory
    python benchmarks/bench_gpu.py --vllm    # also GRPO with vLLM colocated (pip install 'pluralign[vllm]')

A short vLLM GRPO run of a shipped recipe (one GPU, 10 steps, vLLM colocated):

    accelerate launch --config_file configs/accelerate/single_gpu.yaml -m pluralign.train \\
        qwen2.5-1.5b-full-ddp/summarize-pluralism-vllm training.max_steps=10 training.gradient_accumulation_steps=1 \\
        training.per_device_train_batch_size=16 'training.save_strategy="no"' report_to=none eval_hook.enabled=false

vLLM itself was not installed here either: it needs CUDA, and nothing here can run it."""


def peak_tflops(device: str, given: float | None) -> float | None:
    if given:
        return given
    return next((value for name, value in PEAK_TFLOPS.items() if name in device), None)


def mfu(n_params: int, tokens: int, seconds: float, peak: float | None) -> float | None:
    """6 x parameters x tokens / seconds / peak FLOP/s (training passes only)."""
    if not (peak and seconds and tokens):
        return None
    return 6 * n_params * tokens / seconds / (peak * 1e12)


def build_model(out_dir: Path, shape: dict) -> tuple[str, int]:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from pluralign.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=shape["hidden_size"], intermediate_size=shape["intermediate"],
        num_hidden_layers=shape["num_layers"], num_attention_heads=shape["heads"], num_key_value_heads=shape["heads"],
        max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir), sum(p.numel() for p in model.parameters())


def recipe(method: str, model: str, out: Path, steps: int, gpu: bool, vllm: bool = False,
           backend: str | None = None) -> dict:
    training = {"max_steps": steps, "logging_steps": 1, "save_strategy": "no", "report_to": "none",
                "gradient_checkpointing": gpu, "bf16": gpu, "learning_rate": 1e-5}
    if method == "grpo":
        training.update(per_device_train_batch_size=8 if gpu else 4, num_generations=8 if gpu else 4,
                        max_completion_length=128 if gpu else 8)
        if vllm:
            training.update(use_vllm=True, vllm_mode="colocate", vllm_gpu_memory_utilization=0.3,
                            vllm_max_model_length=2048)
        pairs = {}
    else:
        training.update(per_device_train_batch_size=4 if gpu else 2, max_length=1024 if gpu else 256)
        pairs = {"source": "extractive", "k": 4, "sentences": 3, "min_margin": 0.0}
    return {
        "model": {"name_or_path": model, "dtype": "bfloat16" if gpu else "float32"},
        "data": {"path": str(ROOT / "data/synthetic/debates.jsonl"), "max_comments": 20 if gpu else 6},
        "task": "summarize", "method": method, "training": training, "pairs": pairs or {"source": "extractive"},
        "rewards": {"funcs": ["pluralism"], **({"backend": backend} if backend else {})}, "eval_hook": {"enabled": False},
        "output_dir": str(out / (f"{method}-vllm" if vllm else method)),
    }


def run(method: str, model: str, out: Path, steps: int, gpu: bool, n_params: int, peak: float | None,
        vllm: bool = False, backend: str | None = None) -> dict:
    import torch

    from pluralign.train.recipe import recipe_from_dict
    from pluralign.train.run import train

    name = f"{method} (vLLM colocate)" if vllm else method
    if vllm:
        from trl.import_utils import is_vllm_available

        if not is_vllm_available():
            return {"method": name, "not_measured": "vllm is not installed (pip install 'pluralign[vllm]')"}
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train(recipe_from_dict(recipe(method, model, out, steps, gpu, vllm, backend), f"<bench_gpu {name}>"))
    seconds = time.perf_counter() - start
    logs = [h for h in result["log_history"] if "num_tokens" in h]
    runtime = next(h["train_runtime"] for h in result["log_history"] if "train_runtime" in h)
    tokens = logs[-1]["num_tokens"] if logs else 0
    utilisation = mfu(n_params, tokens, runtime, peak)
    return {"method": name, "steps": result["global_step"], "tokens": tokens, "train_runtime_s": round(runtime, 2),
            "tokens_per_s": round(tokens / runtime, 1) if runtime else None, "wall_s": round(seconds, 1),
            "mfu": round(utilisation, 4) if utilisation is not None else None,
            "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if gpu else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-tiny", action="store_true", help="a CPU-sized model; print JSON, write nothing")
    parser.add_argument("--steps", type=int, default=None, help="steps per method (default 5 on GPU, 1 CPU-tiny)")
    parser.add_argument("--vllm", action="store_true", help="also run GRPO with vLLM rollouts colocated on the GPU")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the device's peak dense bf16 TFLOP/s for MFU (default: from PEAK_TFLOPS by device name; "
                             "H100/H200 989, A100 312)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--backend", default=None,
                        help="the pluralism reward's scoring backend (default: the project's default); "
                             "lexical needs no model files")
    args = parser.parse_args(argv)

    import torch

    gpu = not args.cpu_tiny
    if gpu and not torch.cuda.is_available():
        from benchmarks.results import RESULTS, write_section

        print("bench_gpu: no GPU on this machine; nothing measured (use --cpu-tiny for the CPU variant)")
        if f"<!-- {SECTION} -->" not in (RESULTS.read_text() if RESULTS.exists() else ""):
            write_section(SECTION, NOT_MEASURED)
        return 0
    steps = args.steps or (5 if gpu else 1)
    device = torch.cuda.get_device_name() if gpu else "cpu"
    peak = peak_tflops(device, args.peak_tflops)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        model, n_params = build_model(out / "model", GPU_SHAPE if gpu else TINY_SHAPE)
        rows = [run(method, model, out, steps, gpu, n_params, peak, backend=args.backend) for method in ("dpo", "grpo")]
        if args.vllm:
            rows.append(run("grpo", model, out, steps, gpu, n_params, peak, vllm=True, backend=args.backend))
    figures = {"parameters": n_params, "device": device, "dtype": "bfloat16" if gpu else "float32",
               "peak_tflops": peak, "reward_backend": args.backend or "default", "runs": rows}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if gpu:
        from benchmarks.results import write_section

        write_section(SECTION, results_markdown(figures, n_params))
    return 0


def results_markdown(figures: dict, n_params: int) -> str:
    def row(r: dict) -> str:
        if "not_measured" in r:
            return f"| {r['method']} | not measured: {r['not_measured']} | | | | |"
        mfu_text = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "not measured (unknown peak: --peak-tflops)"
        return f"| {r['method']} | {r['steps']} | {r['tokens_per_s']} | {mfu_text} | {r['peak_gpu_mem_gib']} | {r['wall_s']} |"

    peak = f"{figures['peak_tflops']:g} TFLOP/s peak bf16" if figures.get("peak_tflops") else "peak unknown"
    return (f"Random-initialised Llama-shaped model, {n_params / 1e9:.2f}B parameters, bf16, on {figures['device']} "
            f"({peak}); pluralism reward (backend {figures.get('reward_backend', 'default')}); extractive pairs for DPO. MFU = 6 x parameters x trained tokens / time / peak "
            "(training passes only; GRPO's generation is not counted).\n\n"
            "| method | steps | tokens/s | MFU | peak memory (GiB) | wall (s) |\n|---|---|---|---|---|---|\n"
            + "\n".join(row(r) for r in figures["runs"]))


if __name__ == "__main__":
    sys.exit(main())
