"""Shared fixtures. Everything runs offline: tiny models are built into temporary folders."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

POLIS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "polis")


@pytest.fixture(scope="session")
def polis_dir():
    path = os.path.abspath(os.environ.get("PLURALIGN_POLIS_DIR", POLIS_DIR))
    if not os.path.isdir(path):
        pytest.fail(f"Polis data not found at {path}; set PLURALIGN_POLIS_DIR to ../shared/data/polis")
    return path


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    from pluralign.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    from pluralign.tiny import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-nli"))
