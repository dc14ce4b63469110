"""Which scorer class judges what, with which kind of backend.

`SCORERS[name][kind]` is the class that computes score `name` (pluralism, fidelity,
representation) on a backend of that kind (`Backend.kind`: embedding, nli, lexical, ...); the
entry "*" serves every kind without one of its own. `make_scorer(name, backend, **options)` is how
tasks, rewards and the CLI get a scorer. A backend kind that needs its own way of scoring (an LLM
judge asking a rubric, a learned model) registers its classes here; every scorer class takes
`(backend, **options)` and has `score_batch(records, texts)` returning `{name: float, "metrics":
dict, "signature": str}` per pair (the representation scorer: `score(rows) -> list[float]`).
"""

from __future__ import annotations

from pluralign.errors import UsageError


def _pluralism():
    from pluralign.rewards.pluralism import PluralismScorer

    return PluralismScorer


def _fidelity():
    from pluralign.rewards.fidelity import FidelityScorer

    return FidelityScorer


def _representation():
    from pluralign.rewards.representation import RepresentationScorer

    return RepresentationScorer


def _cross_representation():
    from pluralign.rewards.cross_encoder import CrossRepresentationScorer

    return CrossRepresentationScorer


def _judge(name: str):
    def load():
        from pluralign.rewards import judge_scorers

        return getattr(judge_scorers, name)

    return load


# name -> backend kind -> a function returning the class (imported when first asked for).
SCORERS: dict[str, dict[str, object]] = {
    "pluralism": {"*": _pluralism, "judge": _judge("JudgePluralismScorer"), "judge-local": _judge("JudgePluralismScorer")},
    "fidelity": {"*": _fidelity, "judge": _judge("JudgeFidelityScorer"), "judge-local": _judge("JudgeFidelityScorer")},
    "representation": {"*": _representation, "judge": _judge("JudgeRepresentationScorer"),
                       "judge-local": _judge("JudgeRepresentationScorer"), "cross": _cross_representation},
}


def scorer_class(name: str, kind: str):
    if name not in SCORERS:
        raise UsageError(f"unknown scorer {name!r}; choose one of {', '.join(SCORERS)}")
    by_kind = SCORERS[name]
    return (by_kind.get(kind) or by_kind["*"])()


def make_scorer(name: str, backend=None, **options):
    """The scorer `name` for `backend` (a Backend, a spec string, or None for the default)."""
    from pluralign.rewards.backends import DEFAULT_SPEC, Backend, get_backend

    backend = backend if isinstance(backend, Backend) else get_backend(backend or DEFAULT_SPEC)
    return scorer_class(name, backend.kind)(backend, **options)
