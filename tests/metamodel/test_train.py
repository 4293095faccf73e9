"""Training: it recovers a known signal, never leaks a stream across folds, counts highlights with
the product's selector at a budget, compares itself with single-signal baselines, and its JSON
artifact scores exactly like the fitted scikit-learn pipeline."""

import json

import numpy as np
import pytest
from synthetic import add_ranks, synthetic_rows, write_synthetic

from metamodel import MetamodelError, load_metamodel, save_metamodel
from metamodel.dataset import read_training_csv, write_training_csv
from metamodel.report import format_report
from metamodel.selection import DEFAULT_PER_HOUR, Highlight, select
from metamodel.train import (
    Objective,
    choose_features,
    compare_to_baseline,
    cross_validate,
    grouped_splits,
    highlight_metrics,
    make_pipeline,
    positive_moments,
    segment_seqs,
    train,
    verdict,
)


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
    top_two = {name for _, name in sorted(zip(np.abs(model.coef), model.features, strict=True))[-2:]}
    assert top_two == {"rank:chat_messages", "rank:audio_loudness"}


def test_by_default_only_the_stream_relative_rank_columns_are_trained_on(trained, signal_data):
    model, report = trained
    assert model.features and all(f.startswith("rank:") for f in model.features)
    assert report["feature_set"] == "rank" and model.provenance["feature_set"] == "rank"
    raw, _ = train(signal_data, feature_set="raw")
    assert "chat_messages" in raw.features and not any(f.startswith("rank:") for f in raw.features)
    assert set(choose_features(signal_data.features, "all")) == set(signal_data.features)
    with pytest.raises(ValueError, match="rank, raw, all"):
        choose_features(signal_data.features, "everything")


def test_data_without_rank_columns_says_how_to_get_them():
    with pytest.raises(ValueError, match="no rank feature columns.*metamodel dataset"):
        choose_features(["chat_messages", "audio_peak"])


def test_the_full_model_beats_each_single_group_baseline(trained):
    _, report = trained
    pr = {name: r["mean"]["pr_auc"] for name, r in report["models"].items()}
    assert {"metamodel", "chat only", "audio only"} <= set(pr)
    assert pr["metamodel"] > pr["chat only"] and pr["metamodel"] > pr["audio only"]


def test_the_single_signal_baselines_are_reported_at_the_same_budget(trained, signal_data):
    _, report = trained
    models = report["models"]
    assert {"message count", "message-rate ratio", "loudness", "motion"} <= set(models)
    # Scored by the raw column itself, nothing fitted: its ranking is the column's.
    counts = signal_data.columns(["chat_messages"])[:, 0]
    assert np.array_equal(models["message count"]["oof_scores"], counts)
    # The planted signals beat the pure-noise signals.
    assert models["message count"]["mean"]["roc_auc"] > 0.8 > 0.6 > models["motion"]["mean"]["roc_auc"]
    for result in models.values():
        assert result["mean"]["highlights"] > 0


def test_the_reported_highlight_count_is_what_the_selector_publishes_on_the_same_scores(trained, signal_data):
    _, report = trained
    seqs = segment_seqs(signal_data)
    for name in ("metamodel", "message count"):
        result = report["models"][name]
        scores = result["oof_scores"]
        total = 0
        for fold in result["folds"]:
            published = 0
            for stream in fold["test_streams"]:
                rows = np.flatnonzero(signal_data.streams == stream)
                rows = rows[np.argsort(seqs[rows])]
                published += len(select([(int(seqs[i]), float(scores[i])) for i in rows], DEFAULT_PER_HOUR))
            assert fold["highlights"] == published
            total += published
        assert result["mean"]["highlights"] == total > 0
        assert result["mean"]["highlights_per_hour"] == pytest.approx(total / (len(signal_data) * 10 / 3600))


def test_a_bigger_budget_publishes_more_highlights_and_ships_with_the_model(signal_data):
    model, report = train(signal_data, Objective(per_hour=20))
    assert model.per_hour == 20 and model.to_dict()["highlights_per_hour"] == 20
    rate = report["models"]["metamodel"]["mean"]["highlights_per_hour"]
    _, smaller = train(signal_data, Objective(per_hour=3))
    assert rate > smaller["models"]["metamodel"]["mean"]["highlights_per_hour"] > 0
    assert "20 highlights per hour" in format_report(report, "t")


def test_a_budget_outside_the_selectors_range_is_refused():
    with pytest.raises(ValueError, match="highlights per hour must be a number from 0.5 to 60"):
        Objective(per_hour=0)


@pytest.mark.parametrize(
    "labels, expected",
    [
        pytest.param([0, 1, 1, 0, 1], [(1, 2), (4, 4)], id="two-runs"),
        pytest.param([1, 1, 1], [(0, 2)], id="one-long-moment"),
        pytest.param([0, 0, 0], [], id="none"),
    ],
)
def test_a_positive_moment_is_a_run_of_consecutive_positive_segments(labels, expected):
    assert positive_moments(np.arange(len(labels)), np.array(labels)) == expected


def test_a_gap_in_the_segment_numbers_splits_a_moment():
    assert positive_moments(np.array([0, 1, 3, 4]), np.array([1, 1, 1, 1])) == [(0, 1), (3, 4)]


def test_precision_counts_highlights_on_a_moment_and_recall_counts_moments_found():
    # Stream a: moments 2-3 and 10; stream b: moment 5.
    streams = np.array(["a"] * 12 + ["b"] * 8, dtype=object)
    seqs = np.concatenate([np.arange(12), np.arange(8)])
    labels = np.zeros(20, dtype=int)
    labels[[2, 3, 10]] = 1
    labels[12 + 5] = 1
    picked = {
        "a": [
            Highlight(1, 2, 2, 0.9),  # its lead-in and first segment cover the moment 2-3: a hit
            Highlight(3, 3, 3, 0.8),  # the same moment again: a hit, but the moment counts once
            Highlight(6, 8, 7, 0.7),
        ],  # nothing there: a miss
        "b": [Highlight(4, 4, 4, 0.6)],
    }  # ends just before the moment at 5: a miss
    got = highlight_metrics(streams, seqs, labels, picked)
    assert got == {"highlights": 4, "hits": 2, "moments": 3, "found": 1, "precision": 0.5, "recall": 1 / 3}


def test_a_model_that_loses_to_message_count_says_so_in_the_report(tmp_path):
    # The label is in the raw message count, but the model only sees rank columns that carry
    # nothing (the chat ranks are dropped): it ranks at chance and message count does not.
    rows = [
        {k: v for k, v in r.items() if not k.startswith("rank:chat") and k != "rank:audio_loudness"}
        for r in synthetic_rows(streams=4, per_stream=240)
    ]
    path = tmp_path / "weak.csv"
    write_training_csv(path, rows)
    _, report = train(read_training_csv(path))
    text = format_report(report, "t")
    assert "verdict: LOSES to message count: ROC AUC" in text
    assert report["models"]["metamodel"]["mean"]["roc_auc"] < report["models"]["message count"]["mean"]["roc_auc"]


def test_the_verdict_compares_roc_auc_and_precision_and_skips_missing_figures():
    model = {"mean": {"roc_auc": 0.80, "precision": 0.50}}
    assert compare_to_baseline(model["mean"], {"roc_auc": 0.70, "precision": 0.60}) == {"precision": (0.5, 0.6)}
    assert compare_to_baseline(model["mean"], {"roc_auc": float("nan"), "precision": None}) == {}
    lines = verdict(
        {
            "metamodel": model,
            "loudness": {"mean": {"roc_auc": 0.9, "precision": 0.4}},
            "motion": {"mean": {"roc_auc": 0.5, "precision": 0.1}},
        }
    )
    assert lines == ["LOSES to loudness: ROC AUC 0.800 vs 0.900"]
    assert verdict({"metamodel": model, "motion": {"mean": {"roc_auc": 0.5, "precision": 0.1}}}) == [
        "beats or ties every baseline on ROC AUC and precision"
    ]
    counted = {
        "metamodel": {"mean": {"roc_auc": 0.9, "precision": 6 / 7, "hits": 6, "highlights": 7}},
        "message count": {"mean": {"roc_auc": 0.8, "precision": 7 / 8, "hits": 7, "highlights": 8}},
    }
    assert verdict(counted) == ["LOSES to message count: precision 0.857 (6/7) vs 0.875 (7/8)"]


def test_a_baseline_whose_column_is_absent_is_named_as_missing(tmp_path):
    rows = [
        {k: v for k, v in r.items() if k not in ("motion_mean", "chat_rate_ratio")}
        for r in synthetic_rows(streams=3, per_stream=120)
    ]
    path = tmp_path / "no-motion.csv"
    write_training_csv(path, rows)
    _, report = train(read_training_csv(path))
    assert "motion" not in report["models"] and "message-rate ratio" not in report["models"]
    assert report["missing_baselines"] == ["message-rate ratio", "motion"]
    assert "baselines without data (their column is absent or empty): message-rate ratio, motion" in format_report(
        report, "t"
    )


def test_grouped_splits_never_put_a_test_streams_rows_in_training(signal_data):
    splits = grouped_splits(signal_data.streams)
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested.tolist()) == list(range(len(signal_data)))  # every row tested exactly once
    for train_rows, test_rows in splits:
        assert not set(signal_data.streams[train_rows]) & set(signal_data.streams[test_rows])


def test_each_folds_report_names_streams_that_no_other_fold_tests(signal_data):
    features = choose_features(signal_data.features)
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
    got = [
        model.score({f: (None if np.isnan(v) else v) for f, v in zip(model.features, row, strict=True)}) for row in x
    ]
    assert np.allclose(got, expected, atol=1e-9)


def test_a_trained_artifact_round_trips_with_its_provenance_and_metrics(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "model.json"
    save_metamodel(model, path)
    loaded = load_metamodel(path)
    assert loaded == model
    assert loaded.per_hour == DEFAULT_PER_HOUR
    assert loaded.provenance["trained_by"] == "python -m metamodel train"
    assert loaded.provenance["streams"] == [f"vod{i}" for i in range(6)]
    assert loaded.metrics["cross_validation"]["metamodel"]["mean"]["roc_auc"] > 0.95
    assert loaded.metrics["cross_validation"]["chat only"]["model"]["highlights_per_hour"] == DEFAULT_PER_HOUR


@pytest.mark.parametrize(
    "edit, message",
    [
        pytest.param(lambda d: d["coef"].__setitem__(0, d["coef"][0] + 1), "checksum", id="coefficient-edited"),
        pytest.param(lambda d: d.__setitem__("highlights_per_hour", 30), "checksum", id="budget-edited"),
        pytest.param(lambda d: d["provenance"].__setitem__("rows", 1), "checksum", id="provenance-edited"),
        pytest.param(lambda d: d.__setitem__("schema_version", 3), "schema_version", id="newer-schema"),
        pytest.param(
            lambda d: d["features"].__setitem__(0, "chat_sentiment_v9"), "unknown feature", id="unknown-feature"
        ),
        pytest.param(lambda d: d["scaler_mean"].pop(), "scaler_mean must be a list", id="missing-mean"),
    ],
)
def test_a_tampered_or_incompatible_artifact_is_refused(trained, tmp_path, edit, message):
    model, _ = trained
    data = model.to_dict()
    edit(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(MetamodelError, match=message):
        load_metamodel(path)


def test_audio_tag_columns_raw_and_ranked_are_trained_on_and_count_as_audio(tmp_path):
    rows = synthetic_rows(streams=3, per_stream=120)
    for row in rows:
        row["audio_tag:Laughter"] = 0.1 + 0.6 * row["label"]
    path = tmp_path / "tags.csv"
    write_training_csv(path, add_ranks(rows))
    data = read_training_csv(path)
    assert data.features[-2:] == ["audio_tag:Laughter", "rank:audio_tag:Laughter"]
    model, report = train(data)
    assert "rank:audio_tag:Laughter" in model.features
    assert "rank:audio_tag:Laughter" in report["models"]["audio only"]["features"]
    assert "rank:audio_tag:Laughter" not in report["models"]["chat only"]["features"]


def test_streams_too_short_for_the_selector_are_explained_not_reported_as_zero_recall(tmp_path):
    rows = [r for r in synthetic_rows(streams=3, per_stream=60) if r["seq"] < 5]
    for row in rows:  # both classes in every stream, five segments each: under the selector's warm-up
        row["label"] = int(row["seq"] in (1, 2))
    path = tmp_path / "short.csv"
    write_training_csv(path, rows)
    _, report = train(read_training_csv(path))
    assert report["models"]["metamodel"]["mean"]["highlights"] == 0
    assert "note: the selector published no highlight: it needs 6 segments" in format_report(report, "t")
