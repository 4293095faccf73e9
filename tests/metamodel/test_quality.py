"""The quality report: the model's published highlights against single-signal baselines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic import write_synthetic

from metamodel.__main__ import main
from metamodel.dataset import DatasetError
from metamodel.quality import (
    BASELINES,
    Spacing,
    StreamRun,
    format_quality_report,
    overlaps,
    product_spacing,
    quality_report,
    roc_auc,
    stream_quality,
    top_picks,
)
from metamodel.quality_inputs import combine, load_runs, read_manifest
from metamodel.selection import HighlightSelector

ROOT = Path(__file__).resolve().parents[2]
# The same real Twitch clips and #xqcow chat log as ../shared/data/video and twitch-chat (identical
# sha256); the repository carries them for the demo channel, so this test never has to skip.
MEDIA = ROOT / "server" / "demo" / "media"
SPACING = Spacing(lead_in=1, cooldown=3)


def segments(messages, score=None, loudness=None, motion=None, rate=None):
    """10 s segments as `server.analyze` gives them; `score` defaults to the message count."""
    n = len(messages)
    score = list(messages) if score is None else score
    columns = {
        "chat_messages": messages,
        "chat_rate_ratio": rate or [None] * n,
        "audio_loudness": loudness or [-30.0 - i for i in range(n)],
        "motion_mean": motion or [0.01] * n,
    }
    return [
        {
            "start": 10.0 * i,
            "end": 10.0 * i + 10,
            "score": score[i],
            "reasons": [],
            "features": {name: values[i] for name, values in columns.items()},
        }
        for i in range(n)
    ]


def clip(first_seq, last_seq):
    return {"start": 10.0 * first_seq, "end": 10.0 * last_seq + 10, "score": 0.9, "peak_seq": last_seq, "reasons": []}


# Chat bursts at segments 2 and 9; the labelled moments are there.
MESSAGES = [5, 6, 40, 8, 5, 4, 6, 5, 7, 50, 6, 5]
LABELS = [(25.0, None), (92.0, 98.0)]


def test_a_model_scoring_like_the_message_count_ties_it():
    # Same ranking as the message count, and it published the clips the message count picks.
    run = StreamRun("s", segments(MESSAGES, score=[m / 100 for m in MESSAGES]), [clip(1, 2), clip(8, 9)], LABELS)
    result = stream_quality(run, SPACING)
    count = result["baselines"]["chat_messages"]
    assert result["model"]["roc_auc"] == count["roc_auc"] == 1.0
    assert (
        (result["model"]["precision"], result["model"]["recall"]) == (count["precision"], count["recall"]) == (1.0, 1.0)
    )
    assert result["verdict"]["outcomes"]["chat_messages"]["outcome"] == "ties"
    assert "ties message count" in result["verdict"]["text"] and "LOSES" not in result["verdict"]["text"]


def test_a_shuffled_score_loses_to_the_message_count_and_the_report_says_so():
    shuffled = [MESSAGES[i] for i in (9, 0, 1, 3, 4, 5, 2, 7, 8, 6, 10, 11)]  # the bursts moved to 0 and 6
    run = StreamRun("s", segments(MESSAGES, score=shuffled), [clip(0, 0), clip(5, 6)], LABELS)
    report = quality_report([run], SPACING)
    stream = report["streams"][0]
    assert stream["model"]["roc_auc"] < stream["baselines"]["chat_messages"]["roc_auc"] == 1.0
    assert stream["model"]["precision"] == 0.0 and stream["baselines"]["chat_messages"]["precision"] == 1.0
    text = stream["verdict"]["text"]
    assert text.startswith("LOSES to message count: ROC AUC ")
    assert "precision 0.000 vs 1.000" in text and "recall 0.000 vs 1.000" in text
    assert report["overall"]["verdict"]["text"].startswith("LOSES to message count: ROC AUC")
    assert report["overall"]["baselines"]["chat_messages"]["streams_won"] == 1
    printed = format_quality_report(report)
    assert "verdict: LOSES to message count" in printed


def test_a_model_better_than_every_signal_is_told_it_beats_every_baseline():
    labels = [(45.0, None)]  # segment 4, where nothing but the model stands out
    score = [0.1] * 12
    score[4] = 0.9
    run = StreamRun("s", segments(MESSAGES, score=score, rate=[1.0] * 12), [clip(3, 4)], labels)
    result = stream_quality(run, SPACING)
    assert result["verdict"]["text"] == "beats every baseline"


def test_baseline_picks_are_the_top_windows_no_two_within_the_cooldown():
    values = [1, 9, 8, 2, 7, 3, 0, 6, None, 10]
    # index 9 (10), then 1 (9); 2 (8) and 4 (7) are within 3 of 1, 7 (6) within 3 of 9; then 5 (3), 4 from both
    assert top_picks(values, 5, cooldown=3) == [1, 5, 9]
    assert top_picks(values, 1, cooldown=3) == [9]
    assert top_picks(values, 5, cooldown=0) == [1, 2, 4, 7, 9]
    assert top_picks([None, None], 2, cooldown=0) == []  # a missing value is never picked
    assert top_picks([5, 5, 5], 2, cooldown=0) == [0, 1]  # ties go to the earlier window


def test_a_baseline_pick_is_a_clip_with_the_selectors_lead_in():
    # One pick: the message count's top window is segment 9 (90-100 s); the moment is in its lead-in.
    run = StreamRun("s", segments(MESSAGES), [clip(1, 2)], [(82.0, None)])
    result = stream_quality(run, SPACING)
    assert result["baselines"]["chat_messages"]["hits"] == 1
    assert stream_quality(run, Spacing(lead_in=0, cooldown=3))["baselines"]["chat_messages"]["hits"] == 0


def test_the_spacing_is_the_products_selector_defaults():
    selector = HighlightSelector()
    assert product_spacing() == Spacing(selector.lead_in, selector.cooldown)


def test_baselines_make_as_many_picks_as_the_model_published():
    run = StreamRun("s", segments(MESSAGES), [clip(3, 3)], LABELS)
    result = stream_quality(run, SPACING)
    assert {b["picks"] for b in result["baselines"].values() if b["available"]} == {1}
    silent = stream_quality(StreamRun("s", segments(MESSAGES), [], LABELS), SPACING)
    assert silent["model"]["precision"] is None and silent["model"]["recall"] == 0.0
    assert silent["baselines"]["chat_messages"]["picks"] == 0
    assert "the model published no highlight here" in format_quality_report(
        quality_report([StreamRun("s", segments(MESSAGES), [], LABELS)], SPACING)
    )


@pytest.mark.parametrize(
    "start, end, label, expected",
    [
        pytest.param(10, 30, (25.0, None), True, id="a-moment-inside"),
        pytest.param(10, 30, (30.0, None), False, id="a-moment-at-the-end-is-outside"),
        pytest.param(10, 30, (10.0, None), True, id="a-moment-at-the-start-is-inside"),
        pytest.param(10, 30, (29.0, 60.0), True, id="a-range-sharing-one-second"),
        pytest.param(10, 30, (30.0, 60.0), False, id="a-range-touching-the-end"),
        pytest.param(10, 30, (0.0, 100.0), True, id="a-range-around-it"),
    ],
)
def test_a_pick_hits_a_labelled_moment_it_overlaps(start, end, label, expected):
    assert overlaps(start, end, label) is expected


def test_a_positive_segment_is_the_training_csvs_rule():
    # A clip 18-40 s covers 2 s of segment 10-20: not a positive segment there (dataset.is_positive),
    # but a highlight over 10-20 still overlaps it.
    run = StreamRun("s", segments([1, 2, 9, 3]), [clip(1, 1)], [(18.0, 40.0)])
    result = stream_quality(run, SPACING)
    assert result["positive_segments"] == 2  # 20-30 and 30-40
    assert result["model"]["hits"] == 1


def test_a_signal_missing_on_every_segment_is_not_available_rather_than_zero():
    run = StreamRun("s", segments(MESSAGES), [clip(1, 2)], LABELS)
    report = quality_report([run], SPACING)
    rate = report["streams"][0]["baselines"]["chat_rate_ratio"]
    assert rate == {"title": "message-rate ratio", "available": False}
    assert report["overall"]["baselines"]["chat_rate_ratio"]["available"] is False
    assert "no data for message-rate ratio" in report["streams"][0]["verdict"]["text"]
    printed = format_quality_report(report)
    assert "message-rate ratio" in printed and "no data: the signal is missing on every segment" in printed


def test_a_missing_value_ranks_below_every_present_one():
    assert roc_auc([True, False, False], [None, 1.0, 2.0]) == 0.0
    assert roc_auc([False, True, True], [None, 1.0, 2.0]) == 1.0
    assert roc_auc([True, True], [1.0, 2.0]) is None  # no negative segment: undefined, not 0.5


def test_overall_is_the_mean_over_streams_plus_pooled_counts():
    one = StreamRun("a", segments(MESSAGES), [clip(1, 2), clip(8, 9)], LABELS)  # 2 of 2 hit
    # 1 of 4 hit, 1 of the 2 labelled moments found
    other = StreamRun("b", segments(MESSAGES), [clip(4, 5), clip(8, 9), clip(0, 0), clip(10, 11)], LABELS)
    third = StreamRun("c", segments(MESSAGES), [], LABELS)  # no picks: no precision, recall 0
    overall = quality_report([one, other, third], SPACING)["overall"]["model"]
    assert overall["precision"] == pytest.approx((1.0 + 0.25) / 2)  # c has no precision: left out of the mean
    assert overall["pooled_precision"] == pytest.approx(3 / 6)
    assert overall["recall"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert overall["pooled_recall"] == pytest.approx(3 / 6) and overall["streams"] == 3


def test_the_overall_verdict_compares_over_the_streams_where_both_have_figures():
    loudness = [-40.0] * 12
    loudness[2], loudness[9], loudness[0] = -10.0, -20.0, -15.0  # nearly right: ROC AUC 19/20
    with_audio = StreamRun("a", segments(MESSAGES, loudness=loudness), [clip(1, 2), clip(8, 9)], LABELS)
    no_audio = segments(MESSAGES, score=[0.0] * 12)  # the model is no better than chance here...
    for segment in no_audio:
        segment["features"]["audio_loudness"] = None  # ...and there is no loudness to compare with
    report = quality_report([with_audio, StreamRun("b", no_audio, [clip(5, 5)], LABELS)], SPACING)
    overall = report["overall"]
    assert overall["model"]["roc_auc"] == 0.75 and overall["baselines"]["audio_loudness"]["roc_auc"] == pytest.approx(
        0.95
    )
    assert overall["baselines"]["audio_loudness"]["streams"] == 1
    # On stream a, the one both have, the model's 1.0 beats loudness's 0.95: the 0.75 mean is not compared.
    assert overall["verdict"]["outcomes"]["audio_loudness"]["outcome"] == "beats"
    assert "LOSES to loudness" not in overall["verdict"]["text"]


def write_jsonl(path: Path, segs: list[dict], highlights: list[dict] | None) -> Path:
    lines = [json.dumps(s) for s in segs] + ([json.dumps({"highlights": highlights})] if highlights is not None else [])
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_command_reads_saved_analyses_and_prints_every_baseline(tmp_path, capsys):
    analysis = write_jsonl(tmp_path / "a.jsonl", segments(MESSAGES), [clip(1, 2), clip(8, 9)])
    labels = tmp_path / "labels.csv"
    labels.write_text("time\n0:25\n0:01:35\n")
    assert main(["quality", "--analysis", f"vod={analysis}", "--labels", f"vod={labels}"]) == 0
    printed = capsys.readouterr().out
    assert "stream vod: 12 segments, 2 positive, 2 labelled moment(s)" in printed
    for title in BASELINES.values():
        assert title in printed
    assert main(["quality", "--analysis", f"vod={analysis}", "--labels", f"vod={labels}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["streams"][0]["model"]["precision"] == 1.0 and set(report["streams"][0]["baselines"]) == set(
        BASELINES
    )


def test_an_analysis_cut_short_before_its_highlights_line_is_refused(tmp_path, capsys):
    analysis = write_jsonl(tmp_path / "a.jsonl", segments(MESSAGES), None)
    labels = tmp_path / "labels.csv"
    labels.write_text("time\n25\n")
    assert main(["quality", "--analysis", f"vod={analysis}", "--labels", f"vod={labels}"]) == 1
    assert "no highlights line" in capsys.readouterr().err


def test_a_manifest_lists_streams_with_paths_relative_to_it(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "m.csv").write_text("name,labels,analysis\nvod1,l1.csv,a1.jsonl\nvod2,l2.csv,a2.jsonl\n")
    (tmp_path / "runs" / "m.json").write_text(
        json.dumps(
            {
                "streams": [
                    {
                        "name": "vod3",
                        "labels": "l3.csv",
                        "video": "v.mp4",
                        "chat": "c.irc.gz",
                        "chat_offset": 1568570000,
                    }
                ]
            }
        )
    )
    csv_sources = read_manifest(tmp_path / "runs" / "m.csv")
    assert [(s.name, s.labels, s.analysis) for s in csv_sources] == [
        ("vod1", tmp_path / "runs" / "l1.csv", tmp_path / "runs" / "a1.jsonl"),
        ("vod2", tmp_path / "runs" / "l2.csv", tmp_path / "runs" / "a2.jsonl"),
    ]
    (json_source,) = read_manifest(tmp_path / "runs" / "m.json")
    assert json_source.video == tmp_path / "runs" / "v.mp4" and json_source.chat_offset == 1568570000.0


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("name,labels\nvod,l.csv\n", "needs a video and/or a chat log", id="nothing-to-analyse"),
        pytest.param("name,labels,analysis,video\nvod,l.csv,a.jsonl,v.mp4\n", "not both", id="both"),
        pytest.param("name,analysis\nvod,a.jsonl\n", ":2: missing labels", id="no-labels"),
        pytest.param("name,labels,analysis,vidoe\nvod,l.csv,a.jsonl,v.mp4\n", "unknown column", id="typo"),
        pytest.param(
            "name,labels,video,chat_offset\nvod,l.csv,v.mp4,soon\n", "chat_offset must be a number", id="offset"
        ),
    ],
)
def test_a_bad_manifest_row_is_refused_with_its_line(tmp_path, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_a_missing_file_anywhere_is_refused_before_any_video_is_analysed(tmp_path):
    (tmp_path / "l.csv").write_text("time\n5\n")
    (tmp_path / "v.mp4").write_bytes(b"")
    (tmp_path / "m.csv").write_text("name,labels,video\nfirst,l.csv,v.mp4\nsecond,missing.csv,v.mp4\n")

    def analyze_must_not_run(*args, **kwargs):
        raise AssertionError("analysed a video before checking every file")

    sources = combine(read_manifest(tmp_path / "m.csv"), {}, {})
    with pytest.raises(DatasetError, match="stream 'second': labels file .*missing.csv does not exist"):
        load_runs(sources, analyze_must_not_run, progress=False)


def test_analysis_on_the_command_line_replaces_a_manifest_streams_video(tmp_path):
    (tmp_path / "m.csv").write_text("name,labels,video,chat\nvod,l.csv,v.mp4,c.irc\n")
    (source,) = combine(read_manifest(tmp_path / "m.csv"), {"vod": tmp_path / "saved.jsonl"}, {})
    assert source.analysis == tmp_path / "saved.jsonl" and source.video is None and source.labels == tmp_path / "l.csv"
    with pytest.raises(DatasetError, match="no labels"):
        combine([], {"other": tmp_path / "x.jsonl"}, {})
    with pytest.raises(DatasetError, match="no streams"):
        combine([], {}, {})


def test_train_creates_the_folder_of_its_output(tmp_path):
    data = tmp_path / "train.csv"
    write_synthetic(data)
    model = tmp_path / "not" / "yet" / "model.json"
    assert main(["train", str(data), "--out", str(model)]) == 0
    assert json.loads(model.read_text())["highlights_per_hour"] > 0


def test_the_report_runs_on_real_recordings_with_their_real_chat(tmp_path, capsys):
    """Plumbing only: these labels are made up for the test, so no quality figure is asserted."""
    chat = MEDIA / "xqcow-2019-09-15.irc.gz"
    (tmp_path / "lobby.csv").write_text("start,end\n0:12,0:28\n")
    (tmp_path / "gameplay.csv").write_text("time\n5\n0:45\n")
    manifest = tmp_path / "streams.csv"
    manifest.write_text(
        "name,video,chat,labels\n"
        f"lobby,{MEDIA / 'seed-lobby.mp4'},{chat},lobby.csv\n"
        f"gameplay,{MEDIA / 'seed-gameplay.mp4'},{chat},gameplay.csv\n"
    )
    assert main(["quality", str(manifest), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in report["streams"]] == ["lobby", "gameplay"]
    for stream in report["streams"]:
        assert stream["segments"] == 6
        assert all(stream["baselines"][f]["available"] for f in BASELINES)  # real chat, audio and video
        assert stream["verdict"]["text"]

    # The saved `server.analyze --json` output gives the same report as analysing here.
    saved = tmp_path / "gameplay.jsonl"
    with saved.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "server.analyze", str(MEDIA / "seed-gameplay.mp4"), "--chat", str(chat), "--json"],
            cwd=ROOT,
            stdout=out,
            check=True,
            timeout=180,
        )
    assert (
        main(["quality", "--analysis", f"gameplay={saved}", "--labels", f"gameplay={tmp_path / 'gameplay.csv'}"]) == 0
    )
    printed = capsys.readouterr().out
    assert "stream gameplay: 6 segments" in printed and "verdict:" in printed
    for title in BASELINES.values():
        assert title in printed
    assert any(line.startswith("  model ") for line in printed.splitlines())
    assert (
        main(
            [
                "quality",
                "--analysis",
                f"gameplay={saved}",
                "--labels",
                f"gameplay={tmp_path / 'gameplay.csv'}",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["streams"][0] == report["streams"][1]


def test_a_chat_log_alone_is_measured_with_the_video_baselines_not_available(tmp_path, capsys):
    """Plumbing only, as above: made-up labels on the real #xqcow chat, no recording."""
    (tmp_path / "labels.csv").write_text("time\n1:40\n6:30\n")
    manifest = tmp_path / "streams.csv"
    manifest.write_text(f"name,chat,labels\nxqcow,{MEDIA / 'xqcow-2019-09-15.irc.gz'},labels.csv\n")
    assert main(["quality", str(manifest), "--json"]) == 0
    (stream,) = json.loads(capsys.readouterr().out)["streams"]
    assert stream["segments"] == 47
    assert stream["baselines"]["chat_messages"]["available"]
    assert (
        not stream["baselines"]["audio_loudness"]["available"] and not stream["baselines"]["motion_mean"]["available"]
    )


def test_an_analysis_with_a_score_that_is_not_a_number_is_refused_in_words(tmp_path, capsys):
    segs = segments(MESSAGES)
    segs[3]["score"] = "high"
    analysis = write_jsonl(tmp_path / "a.jsonl", segs, [])
    labels = tmp_path / "labels.csv"
    labels.write_text("time\n25\n")
    assert main(["quality", "--analysis", f"vod={analysis}", "--labels", f"vod={labels}"]) == 1
    assert "'high', not a number" in capsys.readouterr().err


def test_a_saved_analysis_given_as_the_manifest_is_refused_with_what_to_do(tmp_path, capsys):
    analysis = write_jsonl(tmp_path / "vod.jsonl", segments(MESSAGES), [])
    assert main(["quality", str(analysis)]) == 1
    assert "pass it as --analysis NAME=FILE.jsonl" in capsys.readouterr().err
