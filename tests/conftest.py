"""Shared fixtures. Everything runs offline: tiny models are built into temporary folders."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The raw Polis exports ship with the repository (CC BY 4.0, see data/polis/raw/ATTRIBUTION.md).
POLIS_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "polis", "raw")


@pytest.fixture(scope="session")
def polis_dir():
    return os.path.abspath(POLIS_DIR)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    from pluralign.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    from pluralign.tiny import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-nli"))
