"""Batched generation with transformers: the one loop behind `pluralign eval --model` and training.

A prompt is a plain string, used as it is, or a conversation, put through the tokenizer's chat
template. Prompts are left-padded so that every row's new tokens start at the same position, and
cut from the left when they are too long: they end with their instruction, which must stay.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm


def prompt_text(tokenizer, prompt, chat_template_kwargs: dict | None = None) -> str:
    """A conversational prompt through the chat template (with `chat_template_kwargs`, e.g.
    `enable_thinking: false`); a plain string is used as it is."""
    if isinstance(prompt, str):
        return prompt
    return tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False, **(chat_template_kwargs or {}))


def count_truncated(tokenizer, prompts: list, max_prompt_length: int, add_special_tokens: bool = False,
                    chat_template_kwargs: dict | None = None) -> int:
    """How many of `prompts` `generate_texts` will cut to `max_prompt_length` tokens."""
    texts = [prompt_text(tokenizer, p, chat_template_kwargs) for p in prompts]
    ids = tokenizer(texts, add_special_tokens=add_special_tokens)["input_ids"]
    return sum(len(row) > max_prompt_length for row in ids)


@torch.no_grad()
def generate_texts(model, tokenizer, prompts: list, max_new_tokens: int, temperature: float = 0.0,
                   batch_size: int = 8, num_return_sequences: int = 1, max_prompt_length: int | None = None,
                   sampling: dict | None = None, add_special_tokens: bool = False, desc: str | None = None,
                   chat_template_kwargs: dict | None = None) -> list[str]:
    """Completions for `prompts`, `num_return_sequences` per prompt, in order.

    Greedy when `temperature` is 0, else plain sampling at that temperature with no top-k or top-p cut,
    whatever the model's generation config says. `sampling` (`generate` arguments such as do_sample,
    temperature, top_p) replaces that rule; what it leaves out comes from the model's generation config.
    `desc` shows a progress bar; `chat_template_kwargs` go to the chat template. The model's train mode
    and the tokenizer's sides are restored.
    """
    if sampling is None:
        sampling = {"do_sample": temperature > 0, "temperature": temperature if temperature > 0 else None,
                    "top_p": None, "top_k": None}
    texts = [prompt_text(tokenizer, p, chat_template_kwargs) for p in prompts]
    sides = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side = tokenizer.truncation_side = "left"
    was_training = model.training
    model.eval()
    out: list[str] = []
    try:
        for start in tqdm(range(0, len(texts), batch_size), desc=desc, unit="batch", disable=True if desc is None else None):  # None: on a terminal only
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              add_special_tokens=add_special_tokens, truncation=max_prompt_length is not None,
                              max_length=max_prompt_length)
            batch = {k: v.to(model.device) for k, v in batch.items()}
            generated = model.generate(**batch, max_new_tokens=max_new_tokens, num_return_sequences=num_return_sequences,
                                       pad_token_id=tokenizer.pad_token_id, **sampling)
            new = generated[:, batch["input_ids"].shape[1]:]
            out.extend(t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = sides
        model.train(was_training)
    return out
