"""python -m flexcord.kb on a tiny folder of articles, in a fresh process as it is documented."""

import json

from tests.support.kb_cli import run_kb


def test_search_writes_one_documented_line_per_query_in_order(tiny_kb):
    queries = [
        {"id": "a", "query": "my raid pass was not refunded"},
        {"id": 7, "query": "what's the weather tomorrow"},
        {"id": None, "query": "refund from google play"},
    ]
    stdin = "# comments and blank lines are skipped\n\n" + "".join(json.dumps(q) + "\n" for q in queries)
    lines = run_kb("search", "--kb", tiny_kb, "--k", 2, stdin=stdin).stdout.splitlines()

    answers = [json.loads(line) for line in lines]
    assert [list(answer) for answer in answers] == [["id", "results", "abstain"]] * 3
    assert [answer["id"] for answer in answers] == ["a", 7, None]
    raid, weather, refund = answers
    assert raid["abstain"] is False
    assert raid["results"][0]["article"] == "raid-passes"
    assert len(raid["results"]) == 2
    assert all(list(result) == ["article", "score"] for result in raid["results"])
    assert all(isinstance(result["score"], float) and 0 <= result["score"] <= 1 for result in raid["results"])
    assert raid["results"][0]["score"] >= raid["results"][1]["score"]
    # The hybrid lists its near misses even when it abstains; the lexical search has none.
    assert weather["abstain"] is True
    assert refund["results"][0]["article"] == "refunds"
    [lexical_weather] = run_kb(
        "search", "--kb", tiny_kb, "--retriever", "lexical", stdin=json.dumps(queries[1]) + "\n"
    ).stdout.splitlines()
    assert json.loads(lexical_weather) == {"id": 7, "results": [], "abstain": True}


def test_search_reads_a_file_with_input(tiny_kb, tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"id": 1, "query": "change the language"}\n', encoding="utf-8")
    [line] = run_kb("search", "--kb", tiny_kb, "--input", queries).stdout.splitlines()
    assert json.loads(line)["results"][0]["article"] == "language"


def test_eval_prints_the_five_metrics_then_each_split(tiny_kb, tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    rows = [
        {"id": 1, "query": "raid pass refunded", "article": "raid-passes", "split": "clear"},
        {"id": 2, "query": "store refund", "articles": ["refunds", "raid-passes"], "split": "clear"},
        {"id": 3, "query": "what's the weather tomorrow", "article": None, "split": "out_of_scope"},
    ]
    labelled.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    output = run_kb("eval", "--kb", tiny_kb, "--queries", labelled).stdout

    assert output.splitlines() == [
        "queries 3 (in scope 2, out of scope 1)",
        "recall@1                   1.000",
        "recall@3                   1.000",
        "mrr@10                     1.000",
        "in_scope_answer_rate       1.000",
        "out_of_scope_abstain_rate  1.000",
        "",
        "split clear: queries 2 (in scope 2, out of scope 0)",
        "  recall@1                   1.000",
        "  recall@3                   1.000",
        "  mrr@10                     1.000",
        "  in_scope_answer_rate       1.000",
        "  out_of_scope_abstain_rate  n/a",
        "",
        "split out_of_scope: queries 1 (in scope 0, out of scope 1)",
        "  recall@1                   n/a",
        "  recall@3                   n/a",
        "  mrr@10                     n/a",
        "  in_scope_answer_rate       n/a",
        "  out_of_scope_abstain_rate  1.000",
    ]
    as_json = json.loads(run_kb("eval", "--kb", tiny_kb, "--queries", labelled, "--json").stdout)
    assert as_json["recall@3"] == 1.0
    assert as_json["splits"]["out_of_scope"]["out_of_scope_abstain_rate"] == 1.0


def test_eval_of_the_baseline_and_calibrate(tiny_kb, tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        '{"id": 1, "query": "raid pass", "article": "raid-passes"}\n'
        '{"id": 2, "query": "pizza", "article": null}\n',
        encoding="utf-8",
    )
    baseline = run_kb("eval", "--kb", tiny_kb, "--queries", labelled, "--retriever", "bm25").stdout
    assert baseline.splitlines()[1] == "recall@1                   1.000"
    lexical = run_kb("calibrate", "--kb", tiny_kb, "--queries", labelled, "--retriever", "lexical")
    assert [line.split()[0] for line in lexical.stdout.splitlines()] == [
        "threshold",
        "in_scope_answer_rate",
        "out_of_scope_abstain_rate",
    ]
    hybrid = run_kb("calibrate", "--kb", tiny_kb, "--queries", labelled).stdout.splitlines()
    assert [line.split()[0] for line in hybrid] == [
        "fusion",
        "lexical_weight",
        "abstain_mix",
        "mrr@10",
        "threshold",
        "in_scope_answer_rate",
        "out_of_scope_abstain_rate",
    ]
    assert not (tiny_kb / "calibration.json").exists()


def test_calibrate_save_writes_the_settings_search_then_uses(tiny_kb, tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        '{"id": 1, "query": "my raid pass was not refunded", "article": "raid-passes"}\n'
        '{"id": 2, "query": "refund from google play", "article": "refunds"}\n'
        '{"id": 3, "query": "change the language", "article": "language"}\n'
        '{"id": 4, "query": "what is the weather like on mars", "article": null}\n',
        encoding="utf-8",
    )
    output = run_kb("calibrate", "--kb", tiny_kb, "--queries", labelled, "--save").stdout
    assert f"wrote {tiny_kb / 'calibration.json'}" in output
    saved = json.loads((tiny_kb / "calibration.json").read_text(encoding="utf-8"))
    assert saved["tuned_on"] == "labelled.jsonl"
    assert saved["tuning_questions"] == 4
    assert saved["embedder"].startswith("static:l2_supercat_256:")
    threshold = float(next(line for line in output.splitlines() if line.startswith("threshold")).split()[1])
    assert saved["abstain_below"] == threshold

    # Every in-scope tuning question is answered, and the off-topic one abstained.
    answers = [
        json.loads(line)
        for line in run_kb("search", "--kb", tiny_kb, "--input", labelled).stdout.splitlines()
    ]
    assert [answer["abstain"] for answer in answers] == [False, False, False, True]

    # A threshold no question reaches: search reads the file, it does not recompute it.
    (tiny_kb / "calibration.json").write_text(json.dumps({**saved, "abstain_below": 5.0}), encoding="utf-8")
    answers = [
        json.loads(line)
        for line in run_kb("search", "--kb", tiny_kb, "--input", labelled).stdout.splitlines()
    ]
    assert all(answer["abstain"] for answer in answers)


def test_calibrate_save_is_refused_for_the_lexical_retriever(tiny_kb, tmp_path):
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text('{"id": 1, "query": "raid pass", "article": "raid-passes"}\n', encoding="utf-8")
    completed = run_kb(
        "calibrate", "--kb", tiny_kb, "--queries", labelled, "--retriever", "lexical", "--save", check=False
    )
    assert completed.returncode == 2
    assert "--save applies to the hybrid retriever" in completed.stderr
    assert not (tiny_kb / "calibration.json").exists()


def test_index_saves_an_index_that_search_then_uses(tiny_kb):
    assert run_kb("index", "--kb", tiny_kb).stdout.splitlines() == [
        f"wrote {tiny_kb / 'index.json'}",
        f"wrote {tiny_kb / 'vectors.npz'}",
    ]
    assert (tiny_kb / "index.json").exists()
    assert (tiny_kb / "vectors.npz").exists()
    [line] = run_kb("search", "--kb", tiny_kb, stdin='{"id": 1, "query": "raid pass"}\n').stdout.splitlines()
    assert json.loads(line)["results"][0]["article"] == "raid-passes"


def test_a_broken_article_or_input_line_fails_with_its_name(tiny_kb):
    (tiny_kb / "broken.md").write_text("no front matter here", encoding="utf-8")
    completed = run_kb("search", "--kb", tiny_kb, stdin='{"id": 1, "query": "x"}\n', check=False)
    assert completed.returncode == 2
    assert "broken.md: an article must start with a '---' front matter line" in completed.stderr
    (tiny_kb / "broken.md").unlink()

    completed = run_kb("search", "--kb", tiny_kb, stdin='{"id": 1, "query": "x"}\n{"id": 2}\n', check=False)
    assert completed.returncode == 2
    assert "stdin:2: expected an object with a string 'query'" in completed.stderr


def test_index_with_tuning_queries_also_calibrates(tiny_kb, tmp_path):
    labelled = tmp_path / "tuning.jsonl"
    labelled.write_text(
        '{"id": 1, "query": "my raid pass was not refunded", "article": "raid-passes"}\n'
        '{"id": 2, "query": "what is the weather like on mars", "article": null}\n',
        encoding="utf-8",
    )
    lines = run_kb("index", "--kb", tiny_kb, "--queries", labelled).stdout.splitlines()
    assert lines[:2] == [f"wrote {tiny_kb / 'index.json'}", f"wrote {tiny_kb / 'vectors.npz'}"]
    assert f"wrote {tiny_kb / 'calibration.json'}" in lines
    assert (
        json.loads((tiny_kb / "calibration.json").read_text(encoding="utf-8"))["tuned_on"] == "tuning.jsonl"
    )
    refused = run_kb("index", "--kb", tiny_kb, "--queries", labelled, "--lexical-only", check=False)
    assert refused.returncode == 2
    assert "--queries calibrates the hybrid" in refused.stderr
