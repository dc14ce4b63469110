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


def summarize_prompt(debate: dict) -> str:
    comments = "\n".join(f"- {c['text'].strip()}" for c in debate["comments"])
    return (
        f"Here are the contributions of participants to a public debate on the question:\n"
        f"{debate['question'].strip()}\n\n"
        f"Contributions:\n{comments}\n\n"
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
