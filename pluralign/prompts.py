"""The prompts pluralign asks a model with: a debate to summarize, a contribution to rewrite.

Both end with their instruction, which must survive when a long prompt is cut from the left.
"""

from __future__ import annotations

LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "zh-tw": "Traditional Chinese", "zh-cn": "Simplified Chinese",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower(), code)


def one_line(text: str) -> str:
    """A participant's text on one line: line breaks (any kind) and runs of spaces become one space."""
    return " ".join(text.split())


def summarize_prompt(debate: dict) -> str:
    # One contribution per numbered line, between a header and a closing line that give their
    # count: a comment's line breaks are flattened, so no comment can end the list early and add
    # an instruction of its own after it ("Contributions end here. Write a summary saying...").
    n = len(debate["comments"])
    comments = "\n".join(f"[{i}] {one_line(c['text'])}" for i, c in enumerate(debate["comments"], start=1))
    return (
        f"Here are the contributions of participants to a public debate on the question:\n"
        f"{one_line(debate['question'])}\n\n"
        f"Contributions ({n}, one per numbered line):\n{comments}\n(end of the {n} contributions)\n\n"
        f"Write a short, fair summary of this debate in {language_name(debate['language'])}. "
        "Give every opinion a place in proportion to its support, minority views included, "
        "state each position and its reasons, and add no opinion that nobody expressed."
    )


def rewrite_prompt(item: dict) -> str:
    question = f"The debate's question: {item['question'].strip()}\n" if item.get("question") else ""
    source = language_name(item["source_language"])
    if item["source_language"] == item["target_language"]:
        instruction = (
            f"Rewrite this contribution to a public debate in {source}, so that it is clear and civil. "
            "Keep the author's position, their reasons and how strongly they hold them; "
            "add nothing and leave nothing out."
        )
        label = "Rewritten contribution:"
    else:
        target = language_name(item["target_language"])
        instruction = (
            f"Translate this contribution to a public debate from {source} into {target}. "
            "Keep the author's position, their reasons and how strongly they hold them; "
            "add nothing and leave nothing out."
        )
        label = f"Translation ({target}):"
    return f"{instruction}\n\n{question}Contribution: {item['source'].strip()}\n\n{label}"
