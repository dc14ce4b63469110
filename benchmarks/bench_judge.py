"""How well an LLM judge agrees with people: the representation rubric on DeliberationBank.

Each DeliberationBank annotation is a participant's own opinion, a summary they rated 1-5 on "how
well does it represent my opinion" (`rating.rep`), and a second summary they compared with it
(`comparison.rep`: 1 = strongly the first ... 5 = strongly the second). The judge
(`judge:MODEL` at `--base-url`, through `pluralign.rewards.judge_scorers.JudgeRepresentationScorer`)
scores both summaries against the opinion. Reported:
- Pearson r between the judge's score and the person's rating, per annotation (and per topic);
- pairwise accuracy on the comparisons with a preference (ties of the judge count half);
- requests/s to the endpoint (cold cache, `--concurrency` in flight).
Anchors from the literature: general LLM judges reach r of about 0.2, DeliberationJudge about 0.47.

    python benchmarks/bench_judge.py --base-url http://localhost:8000/v1 --model Qwen/Qwen2.5-7B-Instruct
    python benchmarks/bench_judge.py --standin     # no endpoint: the test stand-in, plumbing only

Without `--base-url` (or OPENAI_BASE_URL) it runs against the tests' stand-in server, whose
"judge" is a keyword rule: the figures then check the plumbing and are not a judge's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from results import write_section  # noqa: E402

DEFAULT_DATA = HERE.parent / "data" / "deliberationbank" / "judgments.jsonl"
ANCHORS = "general LLM judges r ≈ 0.2, DeliberationJudge r ≈ 0.47 (Zhu et al. 2025)"


def pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def measure(rows: list[dict], model: str, url: str, concurrency: int) -> dict:
    from pluralign.rewards.backends import JudgeBackend
    from pluralign.rewards.scorers import make_scorer

    backend = JudgeBackend("judge", model, url=url, concurrency=concurrency)
    scorer = make_scorer("representation", backend)
    asked = [{"question": r["question"], "opinion": r["opinion"], "summary": s}
             for r in rows for s in (r["summary"], r["b_summary"])]
    start = time.perf_counter()
    scores = scorer.score(asked)
    seconds = time.perf_counter() - start
    a, b = np.array(scores[0::2]), np.array(scores[1::2])
    ratings = np.array([r["rating"]["rep"] for r in rows])
    by_topic = defaultdict(list)
    for i, r in enumerate(rows):
        by_topic[r["topic"]].append(i)
    prefer = np.array([r["comparison"]["rep"] for r in rows])
    decided = prefer != 3
    human_a = prefer[decided] < 3
    judge = np.sign(a[decided] - b[decided])
    agree = np.where(judge == 0, 0.5, (judge > 0) == human_a)
    stats = backend.judge.endpoint().stats
    return {
        "n": len(rows), "r": pearson(a, ratings),
        "r_by_topic": {t: pearson(a[idx], ratings[idx]) for t, idx in sorted(by_topic.items())},
        "pairs": int(decided.sum()), "pairwise": float(agree.mean()) if decided.any() else float("nan"),
        "judge_ties": float((judge == 0).mean()) if decided.any() else float("nan"),
        "requests": stats["requests"], "seconds": seconds, "rps": stats["requests"] / seconds,
        "signature": scorer.signature,
    }


def section(result: dict, model: str, url: str, standin: bool, data: Path, concurrency: int) -> str:
    topics = "\n".join(f"| {t} | {r:.3f} |" for t, r in result["r_by_topic"].items())
    head = (
        "**No real judge was measured here**: this machine has no GPU and no network to an endpoint, so the "
        "figures below come from the tests' stand-in server (tests/openai_standin.py), whose \"judge\" is a "
        "keyword rule (5 when the opinion's last word is in the summary, else 1). They check the plumbing "
        "(requests, parsing, the metrics) and are a lexical floor, not a judge's agreement with people. "
        f"Run it against a served judge: `python benchmarks/bench_judge.py --base-url URL --model NAME`. Anchors: {ANCHORS}."
        if standin else
        f"Judge `{model}` at {url}. Anchors: {ANCHORS}."
    )
    return f"""{head}

Data: `{data.name}` of DeliberationBank (five topics, {result['n']} annotations); each annotation's own
opinion against the summary it rated (Pearson r with `rating.rep`) and against the second summary it
compared (pairwise accuracy on the {result['pairs']} comparisons with a preference; judge ties count half).
Rubric and settings: `{result['signature']}`.

| judge | Pearson r (per annotation) | pairwise accuracy | judge ties | requests | requests/s ({concurrency} in flight) |
|---|---|---|---|---|---|
| {'stand-in (keyword rule, plumbing only)' if standin else f'`{model}`'} | {result['r']:.3f} | {result['pairwise']:.3f} | {result['judge_ties']:.2f} | {result['requests']} | {result['rps']:.0f} |

| topic | Pearson r |
|---|---|
{topics}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(DEFAULT_DATA), help="DeliberationBank judgments.jsonl")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="the judge's endpoint (…/v1)")
    parser.add_argument("--model", default=None, help="the judge's model name, as the server serves it")
    parser.add_argument("--standin", action="store_true", help="run against the tests' stand-in (plumbing only)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="the first N annotations only")
    args = parser.parse_args(argv)

    data = Path(args.data)
    if not data.exists():
        print(f"bench_judge: {data} not found; pass the path of DeliberationBank's judgments.jsonl", file=sys.stderr)
        return 0
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("b_summary") and r.get("comparison")][:args.limit]
    standin = args.standin or not args.base_url
    server = None
    if standin:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from openai_standin import StandIn

        server = StandIn()
        url, model = server.url, "standin"
    else:
        if not args.model:
            parser.error("--model NAME: the model the server at --base-url serves")
        url, model = args.base_url, args.model
    try:
        result = measure(rows, model, url, args.concurrency)
    finally:
        if server is not None:
            server.close()
    print(json.dumps({k: v for k, v in result.items() if k != "signature"}, indent=2))
    write_section("Judge: representation vs DeliberationBank", section(result, model, url, standin, data, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
