"""pluralign-bench-v1 run by name: suites from the installed package, the reference baselines
(each one's defining property on a small debate), breakdowns by language and country on the real
suite, its Hub form (loaded back with `datasets`, pushed to a recording server) and the lighteval
task file's wiring."""

import ast
import base64
import fnmatch
import hashlib
import importlib.util
import json
import os
import re
import sys
import types
from importlib import resources
from pathlib import Path

import pytest

from pluralign.cli import main
from pluralign.data.bench_hub import hub_row, record_of_row, write_hub_folder
from pluralign.data.groups import resolve_groups
from pluralign.data.jsonl import write_jsonl
from pluralign.eval.baselines import BASELINES, BaselineSettings, get_baseline
from pluralign.eval.suites import installed_suites, named_suites
from pluralign.rewards.scorers import make_scorer
from pluralign.tasks import TASKS, task_names

ROOT = Path(__file__).resolve().parent.parent
NAME = "pluralign-bench-v1"


# --- by name ------------------------------------------------------------------------------------


def test_suites_resolve_by_name_from_the_installed_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data path relative to a checkout
    assert NAME in installed_suites()
    suites = named_suites(f"{NAME}:reformulate,translate")
    assert [s.name for s in suites] == [f"{NAME}/reformulate", f"{NAME}/translate"]
    assert [len(s.records) for s in suites] == [270, 420]
    assert all(s.signature.endswith(f"suite:{s.name}") for s in suites)
    # What resolves them is the package, and a wheel carries every file of the suite.
    folder = resources.files("pluralign") / "suites" / NAME
    assert (folder / "MANIFEST.json").is_file()
    package_data = re.search(r"^\[tool.setuptools.package-data\]\npluralign = (\[.*?\])", (ROOT / "pyproject.toml").read_text(), re.M)
    patterns = ast.literal_eval(package_data.group(1))
    for entry in folder.iterdir():
        assert any(fnmatch.fnmatch(f"suites/{NAME}/{entry.name}", p) for p in patterns), entry.name


@pytest.mark.parametrize("suite, says", [
    ("pluralign-bench-v9", f"installed suites: {NAME}"),
    (f"{NAME}:debate", "unknown task 'debate'; choose one of summarize, reformulate, translate"),
])
def test_an_unknown_suite_or_task_lists_the_known_ones(suite, says, tmp_path, capsys):
    assert main(["eval", "--suite", suite, "--baseline", "identity", "--out", str(tmp_path / "r")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_suite_brings_its_own_data(tmp_path, capsys):
    args = ["eval", "--suite", NAME, "--baseline", "identity", "--items", "x.jsonl", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "--suite pluralign-bench-v1 brings its own data" in capsys.readouterr().err


def test_a_baseline_refuses_tasks_it_does_not_answer_and_a_k_it_does_not_take(tmp_path, capsys):
    assert main(["eval", "--suite", f"{NAME}:translate", "--baseline", "lead", "--out", str(tmp_path / "a")]) == 2
    assert "baseline lead answers summarize" in capsys.readouterr().err
    assert main(["eval", "--suite", f"{NAME}:summarize", "--baseline", "one-per-group", "--baseline-k", "3",
                 "--out", str(tmp_path / "b")]) == 2
    assert "--baseline-k is a number of comments" in capsys.readouterr().err


# --- the baselines, on a debate whose answer is known ---------------------------------------------

MAJORITY = [f"a{i}" for i in range(6)]
MINORITY = ["b0", "b1"]
TEXTS = {  # c1-c3 speak for the majority, c4-c5 for the minority; c1 and c4 most clearly
    "c1": "Build protected bike lanes on every main street downtown.",
    "c2": "Bike lanes should connect the schools and the parks.",
    "c3": "Cyclists need safe parking racks near the shops.",
    "c4": "Keep free car parking for people who drive in from the villages.",
    "c5": "Cheaper bus tickets would help villagers reach the centre.",
}
AGREE = {"c1": (6, 0), "c2": (5, 0), "c3": (4, 0), "c4": (0, 2), "c5": (0, 1)}  # agreeing (majority, minority)


def votes_debate() -> dict:
    votes = []
    for cid, (yes_a, yes_b) in AGREE.items():
        for k, p in enumerate(MAJORITY):
            votes.append({"participant": p, "comment": cid, "vote": 1 if k < yes_a else -1})
        for k, p in enumerate(MINORITY):
            votes.append({"participant": p, "comment": cid, "vote": 1 if k < yes_b else -1})
    authors = {"c1": "a0", "c2": "a1", "c3": "a2", "c4": "b0", "c5": "b1"}
    return {"id": "town", "question": "How should the town centre change?", "language": "en",
            "comments": [{"id": c, "text": t, "author": authors[c]} for c, t in TEXTS.items()], "votes": votes,
            "groups": {**dict.fromkeys(MAJORITY, "0"), **dict.fromkeys(MINORITY, "1")}}


def lines(name: str, debate: dict, **settings) -> list[str]:
    return get_baseline(name).make(debate, BaselineSettings(**settings)).split("\n")


def test_each_summary_baseline_picks_what_its_name_says():
    debate = votes_debate()
    assert lines("dump", debate) == list(TEXTS.values())
    assert lines("lead", debate) == [TEXTS["c1"], TEXTS["c2"]]  # k: the number of groups, 2
    assert lines("lead", debate, k=3) == [TEXTS["c1"], TEXTS["c2"], TEXTS["c3"]]
    assert lines("one-per-group", debate) == [TEXTS["c1"], TEXTS["c4"]]  # the largest group first
    assert lines("majority-only", debate) == [TEXTS["c1"], TEXTS["c2"]]
    drawn = lines("random", debate, seed=1)
    assert len(drawn) == 2 and set(drawn) <= set(TEXTS.values()) and drawn == lines("random", debate, seed=1)
    assert {tuple(lines("random", debate, seed=s)) for s in range(8)} != {tuple(drawn)}  # the seed matters


def test_majority_only_gives_the_minority_nothing_and_one_per_group_covers_it():
    debate = votes_debate()
    minority_comments = {c for c, g in resolve_groups(debate).comments.items() if g == "1"}
    assert minority_comments == {"c4", "c5"}
    picked = {c for c, t in TEXTS.items() if t in lines("majority-only", debate, k=3)}
    assert picked and not picked & minority_comments
    scorer = make_scorer("pluralism", "lexical")
    opg, maj = scorer.score_batch([debate, debate], ["\n".join(lines(b, debate)) for b in ("one-per-group", "majority-only")])
    assert opg["metrics"]["minority_recall"] == 1.0 and maj["metrics"]["minority_recall"] == 0.0
    assert opg["metrics"]["group_coverage"]["1"] > maj["metrics"]["group_coverage"]["1"]


def test_groups_without_votes_are_represented_by_their_most_central_comment():
    texts = ["the river water is too polluted by farms", "farms pollute the river water badly",
             "river water from farms is polluted", "I like trains", "trains should run every hour",
             "hourly trains would be nice"]
    debate = {"id": "text", "question": "What matters here?", "language": "en", "group_source": "text",
              "comments": [{"id": str(i), "text": t, "group": "0" if i < 3 else "1"} for i, t in enumerate(texts)]}
    one = lines("one-per-group", debate)
    assert len(one) == 2 and one[0] in texts[:3] and one[1] in texts[3:]
    assert one[1] != "I like trains"  # shares the least with its group


def test_identity_keeps_the_source_and_is_no_translation():
    reformulate, translate = (named_suites(f"{NAME}:{t}")[0].records[:4] for t in ("reformulate", "translate"))
    scorer = make_scorer("fidelity", "lexical")
    identity = get_baseline("identity")
    kept = scorer.score_batch(reformulate, [identity.make(r, BaselineSettings()) for r in reformulate])
    assert min(r["fidelity"] for r in kept) > 0.85  # the top of the scale: meaning kept, stance unchanged
    assert all(r["metrics"]["stance_class"] == "same" for r in kept)
    copied = scorer.score_batch(translate, [identity.make(r, BaselineSettings()) for r in translate])
    assert max(r["fidelity"] for r in copied) < 0.2


def test_every_baseline_names_the_tasks_it_answers():
    assert {t for b in BASELINES.values() for t in b.tasks} == set(TASKS)
    assert get_baseline("identity").tasks == task_names("item")


# --- breakdowns on the real suite -------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """one-per-group summaries of one debate per conversation and identity rewrites of one item per
    conversation, scored with `--suite ... --predictions` (the rest is counted as skipped)."""
    root = tmp_path_factory.mktemp("bench")
    summarize, reformulate = named_suites(f"{NAME}:summarize,reformulate")
    first = {}
    for suite in (summarize, reformulate):
        for record in suite.records:
            first.setdefault((suite.task, record["conversation"]), (suite, record))
    outputs = []
    for suite, record in first.values():
        baseline = get_baseline("one-per-group" if suite.task == "summarize" else "identity")
        outputs.append({"id": record["id"], suite.text_field: baseline.make(record, BaselineSettings())})
    write_jsonl(root / "outputs.jsonl", outputs)
    out = root / "report"
    assert main(["eval", "--suite", f"{NAME}:summarize,reformulate", "--predictions", str(root / "outputs.jsonl"),
                 "--out", str(out), "--backend", "lexical", "--stress-debates", "0"]) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8")), (out / "report.md").read_text(encoding="utf-8")


def test_breakdowns_cover_the_languages_countries_and_group_sources(bench_run):
    report, markdown = bench_run
    for task, section in report["suites"].items():
        assert section["n_scored"] == 16 and section["skipped"]["no output"]["count"] == section["n"] - 16
        assert set(section["per_language"]) == {"de", "en", "zh-tw"}, task
        assert set(section["per_country"]) == {"AT", "GB", "NZ", "TW", "US"}, task
        assert len(section["per_conversation"]) == 16
        assert set(section["group_sources"]) == set(section["per_group_source"]) == {"polis", "text"}
        assert section["group_sources"]["text"]["records"] == 3  # the three exports without votes
        assert set(section["per_minority"]) == {"minority", "not minority"}
    rewrites = report["suites"]["reformulate"]
    assert set(rewrites["per_vote_side"]) <= {"agreed", "rejected", "divided", "unvoted"} and rewrites["per_vote_side"]
    summaries = report["suites"]["summarize"]
    assert summaries["metrics"]["minority_group_coverage"]["n"] == 10  # conversations with a group under 15%
    assert summaries["signature"].count("groups:polis+text") == 1
    for title in ("### By country", "### By conversation", "### By group source", "### Opinion groups", "topic clusters"):
        assert title in markdown


# --- the Hub form -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    return write_hub_folder(resources.files("pluralign") / "suites" / NAME, tmp_path_factory.mktemp("hub") / "repo")


def test_the_hub_form_loads_one_config_per_task(hub_folder, tmp_path):
    import datasets
    import yaml

    card = (hub_folder / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    assert [c["config_name"] for c in header["configs"]] == list(TASKS)
    assert header["license"] == "cc-by-4.0" and {"en", "de", "fr", "zh"} == set(header["language"])
    assert "# Datasheet: pluralign-bench-v1" in card
    translate = datasets.load_dataset(str(hub_folder), "translate", split="test", cache_dir=str(tmp_path))
    assert len(translate) == 420
    row = translate[0]
    record = record_of_row(row)
    assert record == named_suites(f"{NAME}:translate")[0].records[0]
    assert row["prompt"] == TASKS["translate"].prompt(record) and row["country"] == record["country"]


@pytest.fixture
def small_suite(tmp_path):
    """The first two records of each task of the suite, with a manifest of their own (a push
    sends every byte; the whole suite would take long for nothing)."""
    source = resources.files("pluralign") / "suites" / NAME
    suite = tmp_path / "small"
    suite.mkdir()
    manifest = json.loads((source / "MANIFEST.json").read_text(encoding="utf-8"))
    for name in manifest["files"]:
        lines = (source / name).read_bytes().splitlines(keepends=True)
        (suite / name).write_bytes(b"".join(lines[:2]) if name.endswith(".jsonl") else b"".join(lines))
        manifest["files"][name]["sha256"] = hashlib.sha256((suite / name).read_bytes()).hexdigest()
    (suite / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    return suite


def test_data_bench_pushes_the_hub_form_as_a_dataset(fake_hub, small_suite, tmp_path, capsys):
    keep = tmp_path / "hub"
    assert main(["data", "bench", "--no-build", "--out", str(small_suite), "--push-to-hub", "someone/bench",
                 "--hub-dir", str(keep)]) == 0
    assert "/someone/bench/commit/" in capsys.readouterr().out
    paths = [r["path"].split("?")[0] for r in fake_hub.requests]
    assert paths[0] == "/api/repos/create" and json.loads(fake_hub.requests[0]["body"])["type"] == "dataset"
    assert paths[-1] == "/api/datasets/someone/bench/commit/main"
    commit = [json.loads(line) for line in fake_hub.requests[-1]["body"].splitlines()]
    sent = {item["value"]["path"]: base64.b64decode(item["value"]["content"]) for item in commit if item["key"] == "file"}
    assert set(sent) == {"README.md", "DATASHEET.md", "ATTRIBUTION.md", "MANIFEST.json",
                         "data/summarize.jsonl", "data/reformulate.jsonl", "data/translate.jsonl"}
    assert all(sent[name] == (keep / name).read_bytes() for name in sent)
    assert [json.loads(line)["id"] for line in sent["data/translate.jsonl"].splitlines()] == \
        [json.loads(line)["id"] for line in (small_suite / "translate.jsonl").read_text().splitlines()]
    auth = {r["headers"].get("authorization", r["headers"].get("Authorization")) for r in fake_hub.requests}
    assert auth == {f"Bearer {os.environ['HF_TOKEN']}"}  # the token fake_hub set


def test_a_changed_suite_is_not_pushed(fake_hub, small_suite, capsys):
    with open(small_suite / "reformulate.jsonl", "a", encoding="utf-8") as handle:
        handle.write("\n")
    assert main(["data", "bench", "--no-build", "--out", str(small_suite), "--push-to-hub", "someone/bench"]) == 2
    assert "reformulate.jsonl: sha256: differs from MANIFEST.json" in capsys.readouterr().err
    assert fake_hub.requests == []


# --- the lighteval task file --------------------------------------------------------------------


def fake_lighteval() -> dict[str, types.ModuleType]:
    """Stand-ins for the lighteval classes the task file uses, recording what it passes them."""
    class Recorder:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    class Doc(Recorder):
        pass

    modules = {name: types.ModuleType(name) for name in (
        "lighteval", "lighteval.metrics", "lighteval.metrics.metrics_sample", "lighteval.metrics.utils",
        "lighteval.metrics.utils.metric_utils", "lighteval.tasks", "lighteval.tasks.lighteval_task",
        "lighteval.tasks.requests")}
    modules["lighteval.metrics.metrics_sample"].SampleLevelComputation = object
    modules["lighteval.metrics.utils.metric_utils"].MetricGrouping = type("MetricGrouping", (Recorder,), {})
    modules["lighteval.tasks.lighteval_task"].LightevalTaskConfig = type("LightevalTaskConfig", (Recorder,), {})
    modules["lighteval.tasks.requests"].Doc = Doc
    modules["lighteval.tasks.requests"].SamplingMethod = types.SimpleNamespace(GENERATIVE="GENERATIVE")
    return modules


def test_the_lighteval_task_scores_with_pluralign(monkeypatch):
    for name, module in fake_lighteval().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("PLURALIGN_BACKEND", "lexical")
    spec = importlib.util.spec_from_file_location("pluralign_bench_task", ROOT / "community_tasks" / "pluralign_bench.py")
    task_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(task_file)
    configs = {c.name: c for c in task_file.TASKS_TABLE}
    assert list(configs) == [f"pluralign_bench:{t}" for t in TASKS]
    assert [c.hf_subset for c in configs.values()] == list(TASKS)
    record = named_suites(f"{NAME}:reformulate")[0].records[0]
    doc = task_file.prompt_fn(hub_row("reformulate", record), "pluralign_bench:reformulate")
    assert doc.query == TASKS["reformulate"].prompt(record)
    grouping = configs["pluralign_bench:reformulate"].metrics[0]
    scores = grouping.sample_level_fn.compute(doc, types.SimpleNamespace(text=[record["source"]]))
    assert set(scores) == set(grouping.metric_name) and scores["fidelity"] > 0.85  # the source itself: top of the scale
