"""Generation inside a training run, for the eval hook and on-policy pairs.

Every process generates its shard of the prompts and the texts are gathered to all of them
(accelerate `gather_object`). Each rank makes the same number of `generate` calls (short shards
are padded with a repeated prompt, dropped after the gather): under DeepSpeed ZeRO-3 every rank
must take part in each forward pass, which `generate` does with `synced_gpus` when the model is
partitioned. Generation is batched, left-padded, with the tokenizer's chat template.
"""

from __future__ import annotations

import math

import torch


def prompt_text(tokenizer, prompt) -> str:
    """A conversational prompt through the chat template; a plain string is used as it is."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)


@torch.no_grad()
def generate_texts(model, tokenizer, prompts: list, max_new_tokens: int, temperature: float = 0.0,
                   batch_size: int = 8, num_return_sequences: int = 1, max_prompt_length: int | None = None) -> list[str]:
    """Completions for `prompts` on this process, `num_return_sequences` per prompt, in order."""
    texts = [prompt_text(tokenizer, p) for p in prompts]
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    was_training = model.training
    model.eval()
    sampling = temperature > 0
    out: list[str] = []
    try:
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=False, truncation=max_prompt_length is not None,
                              max_length=max_prompt_length)
            batch = {k: v.to(model.device) for k, v in batch.items()}
            generated = model.generate(
                **batch, max_new_tokens=max_new_tokens, do_sample=sampling,
                temperature=temperature if sampling else None, top_p=None, top_k=None,
                num_return_sequences=num_return_sequences, pad_token_id=tokenizer.pad_token_id,
            )
            new = generated[:, batch["input_ids"].shape[1]:]
            out.extend(t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return out


def sharded_generate(model, tokenizer, prompts: list, **kwargs) -> list[str]:
    """`generate_texts` split over the processes and gathered, in prompt order, on every process."""
    from accelerate import PartialState
    from accelerate.utils import gather_object

    state = PartialState()
    if state.num_processes == 1:
        return generate_texts(model, tokenizer, prompts, **kwargs)
    per_rank = math.ceil(len(prompts) / state.num_processes)
    indices = list(range(state.process_index * per_rank, min(len(prompts), (state.process_index + 1) * per_rank)))
    padded = indices + [indices[-1] if indices else 0] * (per_rank - len(indices))
    texts = generate_texts(model, tokenizer, [prompts[i] for i in padded], **kwargs)
    copies = kwargs.get("num_return_sequences", 1)
    mine = [(i, texts[n * copies:(n + 1) * copies]) for n, i in enumerate(indices)]
    gathered = sorted(gather_object(mine), key=lambda pair: pair[0])
    return [t for _, group in gathered for t in group]
