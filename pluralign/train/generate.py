"""Generation inside a training run, for the eval hook and on-policy pairs.

Two ways, chosen by what the run has:

- **TRL's vLLM engine** (`training.use_vllm`, GRPO/RLOO): the trainer's `vllm_generation`, colocated
  with training or a `trl vllm-serve` server, after syncing the current weights into it. Each
  prompt is repeated once per sample, as TRL's own rollouts pass them.
- **transformers `generate`** on the model unwrapped by `trl.models.utils.unwrap_model_for_generation`
  (the trainer's DDP or DeepSpeed model): under ZeRO-3 the sharded weights are gathered once for
  the whole generation instead of once per forward pass, and gradient checkpointing is paused.

Every process generates its shard of the prompts (shards padded to the same size with a repeated
prompt, dropped afterwards: under ZeRO-3 and in vLLM server mode every rank must take part in each
call) and the texts are gathered to all of them in prompt order (accelerate `gather_object`). The
transformers loop itself is `pluralign.generation.generate_texts`.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from pluralign.generation import generate_texts, prompt_text


def uses_vllm(trainer) -> bool:
    return trainer is not None and bool(getattr(trainer, "use_vllm", False)) and hasattr(trainer, "vllm_generation")


def sharded_generate(model, tokenizer, prompts: list, trainer=None, **kwargs) -> list[str]:
    """Completions for `prompts` (`num_return_sequences` each), split over the processes and gathered,
    in prompt order, on every process. `trainer` (when there is one) gives the vLLM engine, the
    wrapped model and the accelerator."""
    from accelerate import PartialState
    from accelerate.utils import gather_object

    state = PartialState()
    copies = kwargs.get("num_return_sequences", 1)
    per_rank = math.ceil(len(prompts) / state.num_processes)
    indices = list(range(state.process_index * per_rank, min(len(prompts), (state.process_index + 1) * per_rank)))
    padded = indices + [indices[-1] if indices else 0] * (per_rank - len(indices))
    texts = generate_shard(model, tokenizer, [prompts[i] for i in padded], trainer=trainer, **kwargs)
    if state.num_processes == 1:
        return texts[:len(indices) * copies]
    mine = [(i, texts[n * copies:(n + 1) * copies]) for n, i in enumerate(indices)]
    gathered = sorted(gather_object(mine), key=lambda pair: pair[0])
    return [t for _, group in gathered for t in group]


def generate_shard(model, tokenizer, prompts: list, trainer=None, **kwargs) -> list[str]:
    """This process's completions: through TRL's vLLM engine when the trainer has one, else through
    `generate` on the unwrapped (ZeRO-3: gathered) model."""
    if uses_vllm(trainer):
        return vllm_generate(trainer, tokenizer, prompts, **kwargs)
    with unwrapped_for_generation(model, trainer) as unwrapped:
        return generate_texts(unwrapped, tokenizer, prompts, **kwargs)


@contextmanager
def unwrapped_for_generation(model, trainer=None):
    """`trl.models.utils.unwrap_model_for_generation` on the trainer's wrapped model (DDP, DeepSpeed).
    Before any trainer exists (the first round of on-policy pairs), a model that transformers
    loaded partitioned under ZeRO-3 is gathered with DeepSpeed directly."""
    if trainer is not None:
        from trl.models.utils import unwrap_model_for_generation

        # As TRL's own rollouts: gradient checkpointing comes back with the run's own settings.
        gather = getattr(trainer.args, "ds3_gather_for_generation", True)
        with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator, gather_deepspeed3_params=gather,
                                         gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs) as unwrapped:
            yield unwrapped
        return
    from transformers.integrations import is_deepspeed_zero3_enabled

    if is_deepspeed_zero3_enabled():
        import deepspeed

        with deepspeed.zero.GatheredParameters(list(model.parameters())):
            yield model
    else:
        yield model


def vllm_generate(trainer, tokenizer, prompts: list, max_new_tokens: int, temperature: float = 0.0,
                  num_return_sequences: int = 1, chat_template_kwargs: dict | None = None, **_) -> list[str]:
    """Completions from the trainer's `VLLMGeneration` (TRL 1.16), with this call's length and
    temperature (0: greedy), after pushing the current weights into vLLM once per step."""
    engine = trainer.vllm_generation
    if trainer.state.global_step != getattr(trainer, "_last_loaded_step", None):
        engine.sync_weights()
        trainer._last_loaded_step = trainer.state.global_step
    ids = [tokenizer(prompt_text(tokenizer, p, chat_template_kwargs), add_special_tokens=False)["input_ids"]
           for p in prompts for _ in range(num_return_sequences)]
    saved = engine.max_completion_length, engine.temperature
    engine.max_completion_length, engine.temperature = max_new_tokens, temperature
    try:
        _, completion_ids, _, _ = engine.generate(prompts=ids, images=None, num_generations=num_return_sequences)
    finally:
        engine.max_completion_length, engine.temperature = saved
    return [t.strip() for t in tokenizer.batch_decode(completion_ids, skip_special_tokens=True)]
