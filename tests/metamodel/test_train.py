"""Training: it recovers a known signal, never leaks a stream across folds, and its JSON artifact
scores exactly like the fitted scikit-learn pipeline."""

import json

import numpy as np
import pytest

from metamodel import MetamodelError, load_metamodel, save_metamodel
from metamodel.dataset import read_training_csv
from metamodel.train import (Objective, count_highlights, cross_validate, grouped_splits, make_pipeline,
                             score_metrics, train)
from synthetic import write_synthetic


@pytest.fixture(scope="module")
def signal_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "signal.csv"
    write_synthetic(path)
    return read_training_csv(path)


@pytest.fixture(scope="module")
def trained(signal_data):
    return train(signal_data)


def test_training_recovers_a_known_signal_far_above_a_shuffled_label_control(trained, tmp_path):
    model, report = trained
    shuffled = tmp_path / "shuffled.csv"
    write_synthetic(shuffled, shuffle_labels=True)
    _, control = train(read_training_csv(shuffled))
    auc = report["models"]["metamodel"]["mean"]["roc_auc"]
    control_auc = control["models"]["metamodel"]["mean"]["roc_auc"]
    assert auc > 0.95
    assert control_auc < 0.65
    top_two = {name for _, name in sorted(zip(np.abs(model.coef), model.features))[-2:]}
    assert top_two == {"chat_rate_ratio", "audio_peak"}


def test_the_full_model_beats_each_single_group_baseline(trained):
    _, report = trained
    pr = {name: r["mean"]["pr_auc"] for name, r in report["models"].items()}
    assert set(pr) == {"metamodel", "chat only", "audio only"}
    assert pr["metamodel"] > pr["chat only"] and pr["metamodel"] > pr["audio only"]


def test_grouped_splits_never_put_a_test_streams_rows_in_training(signal_data):
    splits = grouped_splits(signal_data.streams)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(len(signal_data)))  # every row tested exactly once
    for train_rows, test_rows in splits:
        assert not set(signal_data.streams[train_rows]) & set(signal_data.streams[test_rows])


def test_each_folds_report_names_streams_that_no_other_fold_tests(signal_data):
    features = signal_data.features
    result = cross_validate(signal_data, features, grouped_splits(signal_data.streams), Objective())
    named = [s for fold in result["folds"] for s in fold["test_streams"]]
    assert sorted(named) == sorted(set(signal_data.streams.tolist()))


def test_one_stream_is_not_enough_to_cross_validate():
    with pytest.raises(ValueError, match="at least 2 streams"):
        grouped_splits(np.array(["a"] * 10, dtype=object))


def test_the_artifact_scores_like_the_pipeline_with_missing_values_imputed_at_the_mean(signal_data, trained):
    model, _ = trained
    x = signal_data.columns(model.features).copy()
    x[::3, :4] = np.nan  # a chat outage on every third row
    pipeline = make_pipeline().fit(signal_data.columns(model.features), signal_data.labels)
    expected = pipeline.predict_proba(x)[:, 1]
    got = [model.score({f: (None if np.isnan(v) else v) for f, v in zip(model.features, row)}) for row in x]
    assert np.allclose(got, expected, atol=1e-9)


def test_a_trained_artifact_round_trips_with_its_provenance_and_metrics(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "model.json"
    save_metamodel(model, path)
    loaded = load_metamodel(path)
    assert loaded == model
    assert loaded.provenance["trained_by"] == "python -m metamodel train"
    assert loaded.provenance["streams"] == [f"vod{i}" for i in range(6)]
    assert loaded.metrics["cross_validation"]["metamodel"]["mean"]["roc_auc"] > 0.95


@pytest.mark.parametrize("edit, message", [
    pytest.param(lambda d: d["coef"].__setitem__(0, d["coef"][0] + 1), "checksum", id="coefficient-edited"),
    pytest.param(lambda d: d.__setitem__("threshold", 0.01), "checksum", id="threshold-edited"),
    pytest.param(lambda d: d["provenance"].__setitem__("rows", 1), "checksum", id="provenance-edited"),
    pytest.param(lambda d: d.__setitem__("schema_version", 2), "schema_version", id="newer-schema"),
    pytest.param(lambda d: d["features"].__setitem__(0, "chat_sentiment_v9"), "unknown feature", id="unknown-feature"),
    pytest.param(lambda d: d["scaler_mean"].pop(), "scaler_mean must be a list", id="missing-mean"),
])
def test_a_tampered_or_incompatible_artifact_is_refused(trained, tmp_path, edit, message):
    model, _ = trained
    data = model.to_dict()
    edit(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(MetamodelError, match=message):
        load_metamodel(path)


def test_a_highlights_per_hour_objective_keeps_the_rate_under_the_target(signal_data):
    model, report = train(signal_data, Objective(per_hour=12))
    scores = report["models"]["metamodel"]["oof_scores"]
    rate = score_metrics(signal_data.labels, scores, model.threshold, signal_data.streams,
                         signal_data.order)["highlights_per_hour"]
    assert 0 < rate <= 12


@pytest.mark.parametrize("flags, streams, expected", [
    pytest.param([0, 1, 1, 0, 1], ["a"] * 5, 2, id="two-runs"),
    pytest.param([1, 1, 1, 1], ["a", "a", "b", "b"], 2, id="a-run-stops-at-the-stream-edge"),
    pytest.param([0, 0, 0], ["a"] * 3, 0, id="none"),
])
def test_highlights_are_counted_as_runs_of_flagged_segments(flags, streams, expected):
    n = len(flags)
    assert count_highlights(np.array(flags, bool), np.array(streams, dtype=object), np.arange(n, dtype=float)) == expected


def test_audio_tag_columns_are_trained_on_and_count_as_audio(tmp_path):
    from metamodel.dataset import write_training_csv
    from synthetic import synthetic_rows

    rows = synthetic_rows(streams=3, per_stream=60)
    for row in rows:
        row["audio_tag:Laughter"] = 0.1 + 0.6 * row["label"]
    path = tmp_path / "tags.csv"
    write_training_csv(path, rows)
    model, report = train(read_training_csv(path))
    assert "audio_tag:Laughter" in model.features
    assert "audio_tag:Laughter" in report["models"]["audio only"]["features"]
    assert "audio_tag:Laughter" not in report["models"]["chat only"]["features"]
