"""Training throughput on one GPU: a random-initialised ~0.5B Llama-shaped model in bf16 through a
few DPO and GRPO steps (pluralism reward), via the same `pluralign.train` code path as recipes.
Reports tokens/s and peak GPU memory into benchmarks/RESULTS.md (section "GPU training").

    python benchmarks/bench_gpu.py               # a GPU; under 10 minutes
    python benchmarks/bench_gpu.py --cpu-tiny    # the same run, CPU-sized (tested); prints JSON only

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


def recipe(method: str, model: str, out: Path, steps: int, gpu: bool) -> dict:
    training = {"max_steps": steps, "logging_steps": 1, "save_strategy": "no", "report_to": "none",
                "gradient_checkpointing": gpu, "bf16": gpu, "learning_rate": 1e-5}
    if method == "grpo":
        training.update(per_device_train_batch_size=8 if gpu else 4, num_generations=8 if gpu else 4,
                        max_completion_length=128 if gpu else 8)
        pairs = {}
    else:
        training.update(per_device_train_batch_size=4 if gpu else 2, max_length=1024 if gpu else 256)
        pairs = {"source": "extractive", "k": 4, "sentences": 3, "min_margin": 0.0}
    return {
        "model": {"name_or_path": model, "dtype": "bfloat16" if gpu else "float32"},
        "data": {"path": str(ROOT / "data/synthetic/debates.jsonl"), "max_comments": 20 if gpu else 6},
        "task": "summarize", "method": method, "training": training, "pairs": pairs or {"source": "extractive"},
        "rewards": {"pluralism": 1.0}, "eval_hook": {"enabled": False}, "output_dir": str(out / method),
    }


def run(method: str, model: str, out: Path, steps: int, gpu: bool) -> dict:
    import torch

    from pluralign.train.recipe import recipe_from_dict
    from pluralign.train.run import train

    if gpu:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train(recipe_from_dict(recipe(method, model, out, steps, gpu), f"<bench_gpu {method}>"))
    seconds = time.perf_counter() - start
    logs = [h for h in result["log_history"] if "num_tokens" in h]
    runtime = next(h["train_runtime"] for h in result["log_history"] if "train_runtime" in h)
    tokens = logs[-1]["num_tokens"] if logs else 0
    return {"method": method, "steps": result["global_step"], "tokens": tokens, "train_runtime_s": round(runtime, 2),
            "tokens_per_s": round(tokens / runtime, 1) if runtime else None, "wall_s": round(seconds, 1),
            "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if gpu else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-tiny", action="store_true", help="a CPU-sized model; print JSON, write nothing")
    parser.add_argument("--steps", type=int, default=None, help="steps per method (default 5 on GPU, 1 CPU-tiny)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    import torch

    gpu = not args.cpu_tiny
    if gpu and not torch.cuda.is_available():
        from benchmarks.results import RESULTS, write_section

        print("bench_gpu: no GPU on this machine; nothing measured (use --cpu-tiny for the CPU variant)")
        if f"<!-- {SECTION} -->" not in (RESULTS.read_text() if RESULTS.exists() else ""):
            write_section(SECTION, "Not measured yet: no GPU was available where the benchmarks ran. "
                          "`python benchmarks/bench_gpu.py` on a machine with one GPU fills this in.")
        return 0
    steps = args.steps or (5 if gpu else 1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        model, n_params = build_model(out / "model", GPU_SHAPE if gpu else TINY_SHAPE)
        rows = [run(method, model, out, steps, gpu) for method in ("dpo", "grpo")]
    figures = {"parameters": n_params, "device": torch.cuda.get_device_name() if gpu else "cpu",
               "dtype": "bfloat16" if gpu else "float32", "runs": rows}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if gpu:
        from benchmarks.results import write_section

        table = "\n".join(f"| {r['method']} | {r['steps']} | {r['tokens_per_s']} | {r['peak_gpu_mem_gib']} | {r['wall_s']} |"
                          for r in rows)
        write_section(SECTION, f"Random-initialised Llama-shaped model, {n_params / 1e9:.2f}B parameters, bf16, "
                      f"on {figures['device']}; pluralism reward; extractive pairs for DPO.\n\n"
                      "| method | steps | tokens/s | peak memory (GiB) | wall (s) |\n|---|---|---|---|---|\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
