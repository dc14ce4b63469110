"""LLM judges against a local OpenAI-compatible stand-in (tests/openai_standin.py) and a tiny local
model: scores come out as the judge's answers fix them, errors name the endpoint, retries are
bounded, identical requests are cached, and the key never shows."""

import asyncio
import json
import logging

import numpy as np
import pytest
from openai_standin import StandIn

from pluralign.cli import main
from pluralign.endpoint import ChatEndpoint, EndpointError
from pluralign.errors import UsageError
from pluralign.rewards import rubric
from pluralign.rewards.backends import JudgeBackend
from pluralign.rewards.judge import LocalJudge, RemoteJudge
from pluralign.rewards.scorers import make_scorer
from pluralign.signature import parse_signature

KEY = "sk-test-NEVER-SHOWN-4242"
Q = "Should the town build more bike lanes?"
DEBATE = {"id": "lanes", "question": Q, "language": "en", "comments": [
    {"id": "c1", "text": "Separate lanes keep our children safe on the way to school", "author": "p1", "group": "A"},
    {"id": "c2", "text": "Painted lanes are cheap and fast to build", "author": "p2", "group": "A"},
    {"id": "c3", "text": "Shops on the high street will lose their parking", "author": "p3", "group": "B"},
]}


@pytest.fixture
def standin(monkeypatch):
    server = StandIn()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setattr("pluralign.endpoint.MAX_BACKOFF", 0.01)  # retries without waiting
    yield server
    server.close()


def judge_backend(url, **settings):
    return JudgeBackend("judge", "standin-judge", url=url, **settings)


def rep_question(summary="Participants want lanes for school safety."):
    return rubric.question("representation", "en", question=Q, opinion="I want lanes for school safety.", summary=summary)


# --- the endpoint --------------------------------------------------------------------------


def test_endpoint_sends_the_key_answers_in_order_and_caches(standin):
    endpoint = ChatEndpoint(standin.url, "m", concurrency=4)
    bodies = [{"messages": [{"role": "user", "content": f"prompt {i % 3}"}]} for i in range(6)]
    first = endpoint.complete_many(bodies)
    assert len(standin.requests) == 3 and first[0] == first[3] and first[0] != first[1]
    assert endpoint.complete_many(bodies) == first and len(standin.requests) == 3
    assert endpoint.stats == {"requests": 3, "cache_hits": 3, "retries": 0}
    assert set(standin.keys) == {f"Bearer {KEY}"} and KEY not in repr(endpoint)


def test_server_errors_are_retried_a_bounded_number_of_times(standin):
    standin.mode = "error"
    endpoint = ChatEndpoint(standin.url, "m", retries=2, backoff=0.001)
    with pytest.raises(EndpointError, match=rf"cannot get an answer from {standin.url}/chat/completions after 3 tries \(HTTP 500"):
        endpoint.complete({"messages": [{"role": "user", "content": "hi"}]})
    assert len(standin.requests) == 3 and endpoint.stats["retries"] == 2


def test_a_slow_server_times_out_then_answers_when_it_catches_up(standin):
    standin.mode, standin.delay = "slow", 0.6
    endpoint = ChatEndpoint(standin.url, "m", timeout=0.2, retries=1, backoff=0.001)
    with pytest.raises(EndpointError, match=r"after 2 tries \(no answer within 0.2s\)"):
        endpoint.complete({"messages": [{"role": "user", "content": "hi"}]})
    standin.delay = 0.05
    assert endpoint.complete({"messages": [{"role": "user", "content": "hi"}]})


def test_a_server_that_goes_away_mid_run_is_named(standin):
    standin.gone_after = 2
    judge = judge_backend(standin.url, concurrency=1, retries=1, backoff=0.001).judge
    questions = [rep_question(f"Summary number {i}.") for i in range(5)]
    with pytest.raises(UsageError, match=rf"{standin.url}/chat/completions after 2 tries \(Connect"):
        judge.ask(questions)
    assert len(standin.requests) == 2


def test_an_answer_that_is_not_a_chat_completion_is_named(standin):
    standin.mode = "not-chat"
    with pytest.raises(EndpointError, match=rf"{standin.url}/chat/completions answered something that is not a chat "
                                            r"completion \(\{\"detail\""):
        ChatEndpoint(standin.url, "m").complete({"messages": []})
    assert len(standin.requests) == 1  # not retried


def test_a_wrong_url_and_a_refused_key_say_what_to_do(standin):
    with pytest.raises(EndpointError, match="404.*ends with /v1"):
        ChatEndpoint(standin.url.removesuffix("/v1"), "m").complete({"messages": []})
    standin.required_key = "sk-another-key"
    with pytest.raises(EndpointError, match=r"refused the request \(HTTP 401\); set OPENAI_API_KEY") as refused:
        ChatEndpoint(standin.url, "m").complete({"messages": []})
    assert KEY not in str(refused.value)
    with pytest.raises(UsageError, match="http"):
        ChatEndpoint("localhost:8000", "m")


# --- the judge -----------------------------------------------------------------------------


def test_garbage_replies_are_asked_again_then_refused_and_never_cached(standin):
    standin.mode = "malformed"
    judge = judge_backend(standin.url, parse_retries=1).judge
    with pytest.raises(UsageError, match=rf"judge 'standin-judge' at {standin.url}/chat/completions answers garbage "
                                         r"to the representation rubric .*2 tries each.*no integer 'score'"):
        judge.ask([rep_question()])
    assert len(standin.requests) == 2
    standin.mode = "good"
    assert judge.ask([rep_question()]) == [{"score": 5}] and len(standin.requests) == 3


def test_structured_output_is_asked_for_and_dropped_where_refused(standin):
    judge = judge_backend(standin.url).judge
    judge.ask([rep_question("One summary.")])
    schema = standin.requests[-1]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 5}
    standin.refuse_structured = True
    assert judge.ask([rep_question("Another summary.")]) == [{"score": 1}]
    assert "response_format" in standin.requests[-2] and "response_format" not in standin.requests[-1]
    judge.ask([rep_question("A third summary.")])
    assert "response_format" not in standin.requests[-1]


@pytest.mark.parametrize("reply, expected", [
    ('{"score": 4}', 4), ("```json\n{\"score\": 3}\n```", 3), ("Score: 2", 2), ("5", 5), ('{"score": "1"}', 1),
])
def test_replies_are_read_tolerantly(reply, expected):
    assert rubric.parse_reply(reply, rubric.RUBRICS["representation"].fields) == {"score": expected}


@pytest.mark.parametrize("reply", ['{"score": 9}', "no idea", '{"mark": 3}', ""])
def test_replies_without_the_field_in_range_are_refused(reply):
    with pytest.raises(rubric.ReplyError):
        rubric.parse_reply(reply, rubric.RUBRICS["representation"].fields)


def test_rubrics_exist_in_each_language_and_are_asked_in_the_debates():
    for name in rubric.RUBRICS:
        texts = {lang: rubric.rubric_text(name, lang) for lang in rubric.LANGUAGES}
        assert len({t[1] for t in texts.values()}) == 3  # three different translations
        assert len(rubric.rubric_hash(name)) == 12
    fr = rubric.messages(rubric.question("coverage", "fr", 2, question="Q", summary="S", comments="1. a\n2. b"))
    assert "Contributions numérotées" in fr[1]["content"] and "les 2 numéros" in fr[1]["content"]
    assert rubric.rubric_language("es") == "en"


# --- the scorers ---------------------------------------------------------------------------


def test_representation_scores_and_signature_name_the_judge(standin):
    scorer = make_scorer("representation", judge_backend(standin.url))
    opinion = "I oppose the lanes because shops lose parking"
    rows = [{"question": Q, "opinion": opinion, "summary": "A minority fears that shops lose parking."},
            {"question": Q, "opinion": opinion, "summary": "Everyone wants safer streets for children."},
            {"question": Q, "opinion": opinion, "summary": "  "}]
    assert scorer.score(rows) == [1.0, 0.0, 0.0]
    assert len(standin.judged()) == 2  # an empty summary is not asked
    fields = parse_signature(scorer.signature)
    assert fields["backend"] == "judge:standin-judge" and fields["temperature"] == "0" and fields["max_tokens"] == "512"
    assert fields["rubric"] == f"representation@{rubric.rubric_hash('representation')}"


def test_pluralism_with_the_judges_coverage(standin):
    scorer = make_scorer("pluralism", judge_backend(standin.url))
    honest = "Supporters say separate lanes keep children safe at school. Others warn that shops lose parking."
    one_sided = "Supporters say separate lanes keep children safe at school and painted lanes are cheap to build."
    both, one = scorer.score_batch([DEBATE, DEBATE], [honest, one_sided])
    # honest: c1 (school) and c3 (parking) expressed, c2 not; one-sided: c1 and c2, not c3.
    assert both["metrics"]["group_coverage"] == {"A": 0.5, "B": 1.0}
    assert one["metrics"]["group_coverage"] == {"A": 1.0, "B": 0.0}
    assert both["metrics"]["summary_share"] == {"A": 0.5, "B": 0.5} and one["metrics"]["summary_share"] == {"A": 1.0, "B": 0.0}
    assert one["metrics"]["deficit_mass"] == pytest.approx(1 / 3, abs=1e-6)
    assert both["pluralism"] > one["pluralism"]
    # One coverage request per summary and one attribution request per sentence.
    rubrics = [b["response_format"]["json_schema"]["name"] for b in standin.judged()]
    assert sorted(rubrics) == ["attribution"] * 3 + ["coverage"] * 2
    assert "scorer:pluralism" in both["signature"] and "rubric:coverage@" in both["signature"]
    assert scorer.score(DEBATE, [""])[0]["pluralism"] == 0.0 and len(standin.judged()) == 5


def test_fidelity_from_the_judges_answer(standin):
    scorer = make_scorer("fidelity", judge_backend(standin.url), threshold=0.65, cross_lingual=None)
    item = {"id": "i1", "task": "reformulate", "source": "I strongly support the new lanes for our children.",
            "source_language": "en", "target_language": "en", "question": Q}
    kept, flipped = scorer.score_batch([item, item], ["I firmly support the new lanes for the children.",
                                                      "I do NOT support the new lanes for the children."])
    assert kept["fidelity"] == pytest.approx(1.0)
    m = flipped["metrics"]
    assert m["flip"] is True and m["stance_source"] == 1.0 and m["stance_output"] == -1.0 and m["stance_preservation"] == 0.0
    # meaning 1, stance kept 0, intensity kept 1: (0.4 + 0 + 0.25) x (1 - 0.5 for the flip)
    assert flipped["fidelity"] == pytest.approx(0.65 * 0.5)
    assert "scorer:fidelity" in kept["signature"] and "backend:judge:standin-judge" in kept["signature"]


def test_a_judge_needs_an_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UsageError, match="--judge-url URL or set OPENAI_BASE_URL"):
        RemoteJudge("m")
    with pytest.raises(UsageError, match="unknown setting"):
        JudgeBackend("judge", "m", url="http://x/v1", temprature=0.5)


def test_judge_local_reads_the_scale_from_a_tiny_model(tiny_lm):
    import torch

    scorer = make_scorer("representation", f"judge-local:{tiny_lm}")
    rows = [{"question": Q, "opinion": "I want lanes.", "summary": "Most want lanes."},
            {"question": Q, "opinion": "I oppose lanes.", "summary": "Most want lanes."}]
    scores = scorer.score(rows)
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == scorer.score(rows)
    assert parse_signature(scorer.signature)["backend"] == f"judge-local:{tiny_lm}"
    # The cached, field-by-field reading equals recomputing each field from the whole sequence.
    judge = LocalJudge(tiny_lm)
    q = rubric.question("fidelity", "en", question=Q, source="I oppose it.", output="I am against it.",
                        source_language="en", target_language="en")
    got, ids, tok = judge.ask([q])[0], judge._prompt_ids(q), judge.tokenizer
    for k, f in enumerate(q.fields):
        ids = ids + tok(("{" if k == 0 else ", ") + f'"{f.name}": ', add_special_tokens=False)["input_ids"]
        scale = list(range(f.low, f.high + 1))
        with torch.inference_mode():
            logits = judge.lm(input_ids=torch.tensor([ids])).logits[0, -1, [judge._digit(v) for v in scale]]
        probs = torch.softmax(logits.float(), dim=-1)
        assert got[f.name] == pytest.approx(float(np.dot(probs.numpy(), scale)), abs=1e-4)
        ids = ids + [judge._digit(scale[int(probs.argmax())])]


# --- the CLI and the rewards ---------------------------------------------------------------


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_score_representation_with_a_judge_backend(standin, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    opinion = "I oppose the lanes because shops lose parking"
    rows = [{"id": f"p{i}", "question": Q, "opinion": opinion, "summary": s} for i, s in
            enumerate(["Some fear shops lose parking.", "All want lanes.", "Shops lose parking, say some."])]
    out = tmp_path / "scored.jsonl"
    with caplog.at_level(logging.DEBUG):
        assert main(["score", "representation", "--input", _write(tmp_path / "in.jsonl", rows), "--out", str(out),
                     "--backend", "judge:standin-judge"]) == 0
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["score"] for s in scored] == [1.0, 0.0, 1.0]
    assert all(parse_signature(s["signature"])["backend"] == "judge:standin-judge" for s in scored)
    assert standin.keys[0] == f"Bearer {KEY}"
    shown = capsys.readouterr()
    assert KEY not in shown.out + shown.err + caplog.text
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and KEY in p.read_text(errors="ignore")]


def test_score_rewrites_with_a_judge_and_its_disparity(standin, tmp_path, capsys):
    items = [{"id": f"i{k}", "task": "reformulate", "source": f"I strongly support lanes, reason {k}.",
              "source_language": "en", "target_language": "en", "question": Q} for k in range(2)]
    outputs = [{"id": "i0", "output": "I support lanes, reason 0."}, {"id": "i1", "output": "I do NOT support lanes."}]
    out, disparity = tmp_path / "s.jsonl", tmp_path / "d.json"
    assert main(["score", "rewrites", "--items", _write(tmp_path / "items.jsonl", items), "--outputs",
                 _write(tmp_path / "o.jsonl", outputs), "--out", str(out), "--backend", "judge:standin-judge",
                 "--judge-url", standin.url, "--disparity", str(disparity)]) == 0
    flips = [json.loads(line)["metrics"]["flip"] for line in out.read_text().splitlines()]
    assert flips == [False, True] and json.loads(disparity.read_text())["count"] == 2


def test_an_unreachable_judge_is_a_located_error_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("pluralign.endpoint.MAX_BACKOFF", 0.01)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    rows = [{"id": "p", "question": Q, "opinion": "I want lanes.", "summary": "Most want lanes."}]
    out = tmp_path / "scored.jsonl"
    dead = "http://127.0.0.1:9/v1"
    assert main(["score", "representation", "--input", _write(tmp_path / "in.jsonl", rows), "--out", str(out),
                 "--backend", "judge:m", "--judge-url", dead]) == 2
    err = capsys.readouterr().err
    assert f"cannot get an answer from {dead}/chat/completions after 4 tries" in err and KEY not in err
    assert not out.exists()


def test_judge_rewards_are_async_and_combine_by_weight(standin):
    from pluralign.rewards.registry import resolve_reward
    from pluralign.train.rewards import weighted_scores

    reward = resolve_reward("judge_pluralism").build("embedding:all-MiniLM-L6-v2",
                                                    {"judge": "judge:standin-judge", "url": standin.url})
    assert reward.__name__ == "judge_pluralism" and asyncio.iscoroutinefunction(reward)
    completions = ["Supporters say separate lanes keep children safe at school. Others warn that shops lose parking.",
                   "Supporters say painted lanes are cheap to build."]
    columns = {"debate": [json.dumps(DEBATE)] * 2}
    direct = asyncio.run(reward(prompts=["p", "p"], completions=completions, **columns))
    assert direct[0] > direct[1]
    assert weighted_scores([reward], [2.0], ["p", "p"], completions, columns) == pytest.approx([2 * v for v in direct])
    with pytest.raises(UsageError, match="rewards.options.judge_fidelity.judge"):
        resolve_reward("judge_fidelity").build("embedding:all-MiniLM-L6-v2", {})


def test_the_gpu_judge_recipe_builds_its_rewards_offline():
    from pathlib import Path

    from pluralign.train.recipe import load_recipe
    from pluralign.train.rewards import reward_setup

    path = Path(__file__).resolve().parents[1] / "recipes" / "qwen2.5-1.5b-full-ddp" / "summarize-pluralism-judge.yaml"
    specs, funcs = reward_setup(load_recipe(path))  # builds the judge client; nothing is sent
    assert [s.name for s in specs] == ["pluralism", "judge_pluralism"]
    assert not asyncio.iscoroutinefunction(funcs[0]) and asyncio.iscoroutinefunction(funcs[1])
    judge = funcs[1].scorer.judge
    assert judge.url == "http://localhost:8001/v1" and judge.endpoint().concurrency == 64
