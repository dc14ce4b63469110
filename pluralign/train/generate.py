"""Generation inside a training run, for the eval hook and on-policy pairs.

Every process generates its shard of the prompts and the texts are gathered to all of them
(accelerate `gather_object`). Each rank makes the same number of `generate` calls (short shards
are padded with a repeated prompt, dropped after the gather): under DeepSpeed ZeRO-3 every rank
must take part in each forward pass, which `generate` does with `synced_gpus` when the model is
partitioned. The generation loop itself is `pluralign.generation.generate_texts`.
"""

from __future__ import annotations

import math

from pluralign.generation import generate_texts


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
