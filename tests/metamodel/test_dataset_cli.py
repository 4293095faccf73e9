"""Building a training CSV from an analysed VOD plus labels, and the train/evaluate command lines."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic import write_synthetic

from metamodel import load_metamodel
from metamodel.__main__ import main
from metamodel.dataset import DatasetError, is_positive, parse_time, read_labels, read_training_csv

ROOT = Path(__file__).resolve().parents[2]
LOBBY = ROOT / "server" / "demo" / "media" / "seed-lobby.mp4"
CHAT = ROOT / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"


@pytest.mark.parametrize(
    "text, seconds",
    [
        pytest.param("75", 75.0, id="seconds"),
        pytest.param("75.5", 75.5, id="fraction"),
        pytest.param("1:15", 75.0, id="m-ss"),
        pytest.param("1:01:15", 3675.0, id="h-mm-ss"),
    ],
)
def test_label_times_are_seconds_or_clock_times(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize(
    "start, end, ranges, expected",
    [
        pytest.param(10, 20, [(12.0, None)], True, id="a-moment-inside"),
        pytest.param(10, 20, [(20.0, None)], False, id="a-moment-at-the-next-segment"),
        pytest.param(10, 20, [(14.0, 40.0)], True, id="a-clip-covering-most-of-it"),
        pytest.param(10, 20, [(18.0, 40.0)], False, id="a-clip-grazing-its-end"),
        pytest.param(10, 20, [(12.0, 14.0)], True, id="a-short-clip-inside"),
    ],
)
def test_a_segment_is_a_highlight_when_the_labels_say_so(start, end, ranges, expected):
    assert is_positive(start, end, ranges) is expected


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("stream,seq,label,chat_messages\na,0,2,1\n", "label must be 0 or 1", id="bad-label"),
        pytest.param("stream,seq,label,chat_messages\na,0,1,lots\n", "chat_messages must be a number", id="text-value"),
        pytest.param("stream,seq,label,bananas\na,0,1,3\n", "'bananas' is not a feature", id="unknown-column"),
        pytest.param("seq,label,chat_messages\n0,1,3\n", "missing column 'stream'", id="no-stream"),
        pytest.param("stream,label,chat_messages\na,1,3\n", "'seq' or 'start'", id="no-order"),
        pytest.param("stream,seq,label,chat_messages\na,0,1,nan\n", "finite", id="nan"),
        pytest.param("stream,seq,label,chat_messages\na,0.5,1,3\n", "seq must be a whole number", id="fractional-seq"),
        pytest.param("stream,seq,label,rank:bananas\na,0,1,3\n", "'rank:bananas' is not a feature", id="unknown-rank"),
        pytest.param(
            "stream,seq,label,chat_messages\na,0,1,3\nb,0,1,3\na,0,0,2\n",
            r"data.csv:4: stream 'a' already has this segment \(line 2\)",
            id="a-segment-twice",
        ),
    ],
)
def test_a_bad_training_csv_is_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_training_csv(path)


def test_empty_cells_are_missing_values(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("stream,seq,label,chat_messages,audio_peak\na,0,1,,0.5\n")
    data = read_training_csv(path)
    assert data.features == ["chat_messages", "audio_peak"]
    assert str(data.matrix[0, 0]) == "nan" and data.matrix[0, 1] == 0.5


def test_a_labels_file_with_an_end_before_its_start_is_refused(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("start,end\n0:30,0:20\n")
    with pytest.raises(DatasetError, match=r"labels.csv:2: end 0:20 is not after start"):
        read_labels(path)


def test_a_labelled_real_vod_becomes_a_training_csv(tmp_path):
    analysis = tmp_path / "lobby.jsonl"
    with analysis.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "server.analyze", str(LOBBY), "--chat", str(CHAT), "--json"],
            cwd=ROOT,
            stdout=out,
            check=True,
            timeout=120,
        )
    labels = tmp_path / "labels.csv"
    labels.write_text("start,end\n0:12,0:28\n")  # a clip covering most of segments 10-20 and 20-30
    out = tmp_path / "data.csv"
    assert (
        main(["dataset", "--analysis", str(analysis), "--labels", str(labels), "--stream", "lobby", "--out", str(out)])
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    segments = [json.loads(line) for line in analysis.read_text().splitlines()][:-1]
    assert len(rows) == len(segments) >= 5
    assert [r["label"] for r in rows[:4]] == ["0", "1", "1", "0"]
    assert float(rows[1]["chat_messages"]) == segments[1]["features"]["chat_messages"]
    # The server's stream-relative ranks travel with the raw values, the audio tags' too.
    assert float(rows[3]["rank:chat_messages"]) == segments[3]["features"]["rank:chat_messages"]
    data = read_training_csv(out)
    assert set(data.streams) == {"lobby"} and {"motion_mean", "rank:motion_mean"} <= set(data.features)
    assert "rank:audio_tag:Laughter" in data.features  # empty without tagger weights: missing, not dropped

    moments = tmp_path / "moments.csv"
    moments.write_text("time\n45\n")
    assert (
        main(
            [
                "dataset",
                "--analysis",
                str(analysis),
                "--labels",
                str(moments),
                "--stream",
                "lobby-2",
                "--out",
                str(out),
                "--append",
            ]
        )
        == 0
    )
    data = read_training_csv(out)
    second = data.labels[data.streams == "lobby-2"]
    assert second.tolist()[4] == 1 and second.sum() == 1


def test_train_then_evaluate_from_the_command_line(tmp_path, capsys):
    data, held_out = tmp_path / "train.csv", tmp_path / "held_out.csv"
    write_synthetic(data)
    write_synthetic(held_out, seed=9, streams=2)
    model = tmp_path / "new" / "folder" / "model.json"  # made by train, not beforehand
    assert main(["train", str(data), "--out", str(model), "--per-hour", "8"]) == 0
    printed = capsys.readouterr().out
    for name in ("chat only", "audio only", "message count", "message-rate ratio", "loudness", "motion"):
        assert f"\n{name} " in printed
    assert "a budget of 8 highlights per hour" in printed and "features: rank" in printed
    assert "verdict: " in printed and f"wrote {model} (8 highlights per hour)" in printed
    assert load_metamodel(model).per_hour == 8
    for png in ("model-importance.png", "model-pr.png"):
        assert (model.parent / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["evaluate", str(model), str(held_out)]) == 0
    report = capsys.readouterr().out
    assert "vod0" in report and "vod1" in report and "a budget of 8 highlights per hour (the model's)" in report
    assert "\nmessage count " in report and "\nchat only " in report
    metamodel_all = next(line for line in report.splitlines() if line.startswith("metamodel") and " all " in line)
    assert float(metamodel_all.split()[2]) > 0.9  # ROC AUC on the held-out streams
    assert main(["evaluate", str(model), str(held_out), "--per-hour", "20"]) == 0
    assert "a budget of 20 highlights per hour (--per-hour)" in capsys.readouterr().out


@pytest.mark.parametrize("budget", ["0", "61", "-3"])
def test_a_budget_the_selector_does_not_take_is_refused_before_training(tmp_path, capsys, budget):
    data = tmp_path / "train.csv"
    data.write_text("stream,seq,label,rank:chat_messages\na,0,1,0.5\n")
    assert main(["train", str(data), "--out", str(tmp_path / "m.json"), "--per-hour", budget]) == 2
    assert "--per-hour: highlights per hour must be a number from 0.5 to 60" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


def test_training_a_file_with_one_stream_says_why_it_cannot(tmp_path, capsys):
    data = tmp_path / "one.csv"
    write_synthetic(data, streams=1)
    assert main(["train", str(data), "--out", str(tmp_path / "m.json")]) == 1
    assert "at least 2 streams" in capsys.readouterr().err


def test_evaluating_data_without_one_of_the_models_features_says_so(tmp_path, capsys):
    from synthetic import synthetic_rows

    from metamodel.dataset import write_training_csv

    data, held_out = tmp_path / "train.csv", tmp_path / "held_out.csv"
    write_synthetic(data, streams=3, per_stream=60)
    rows = synthetic_rows(streams=2, per_stream=60, seed=4)
    write_training_csv(held_out, [{k: v for k, v in r.items() if k != "rank:audio_peak"} for r in rows])
    model = tmp_path / "model.json"
    assert main(["train", str(data), "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(held_out)]) == 0
    assert (
        "not in the data, scored as missing (imputed at the training mean): rank:audio_peak" in capsys.readouterr().out
    )


def test_appending_rows_with_new_feature_columns_widens_the_file(tmp_path):
    from metamodel.dataset import write_training_csv

    path = tmp_path / "data.csv"
    write_training_csv(path, [{"stream": "a", "seq": 0, "start": 0.0, "label": 1, "chat_messages": 3}])
    write_training_csv(
        path,
        [
            {
                "stream": "b",
                "seq": 0,
                "start": 0.0,
                "label": 0,
                "chat_messages": 1,
                "rank:chat_messages": -0.3,
                "audio_tag:Laughter, giggle": 0.5,
                "rank:audio_tag:Laughter, giggle": 1.2,
            }
        ],
        append=True,
    )
    data = read_training_csv(path)
    assert data.features == [
        "chat_messages",
        "rank:chat_messages",
        "audio_tag:Laughter, giggle",
        "rank:audio_tag:Laughter, giggle",
    ]
    assert data.streams.tolist() == ["a", "b"]
    assert str(data.matrix[0, 1]) == "nan" and data.matrix[1].tolist() == [1.0, -0.3, 0.5, 1.2]
