"""Scorers (pluralism, representation, fidelity), their backends and guards, and TRL reward adapters.

Submodules import heavy libraries (torch, sentence-transformers) only when a backend is built.
"""
