"""Held-out evaluation: the artifact scores the rows as the server would, the selector picks at the
artifact's budget, and the baselines are measured on the same streams at the same budget."""

import numpy as np
import pytest
from synthetic import write_synthetic

from metamodel.dataset import read_training_csv
from metamodel.evaluate import evaluate, score_rows
from metamodel.selection import select
from metamodel.train import Objective, train


@pytest.fixture(scope="module")
def model_and_held_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluate")
    write_synthetic(folder / "train.csv", streams=4, per_stream=240)
    write_synthetic(folder / "held_out.csv", streams=3, per_stream=360, seed=7)
    model, _ = train(read_training_csv(folder / "train.csv"), Objective(per_hour=9))
    return model, read_training_csv(folder / "held_out.csv")


def test_each_streams_highlights_are_what_the_selector_publishes_from_the_artifacts_scores(model_and_held_out):
    model, data = model_and_held_out
    report = evaluate(model, data)
    assert report["per_hour"] == 9
    scores = [model.score({f: row[i] for i, f in enumerate(data.features)}) for row in data.matrix]
    assert np.allclose(score_rows(model, data), scores)
    result = report["models"]["metamodel"]
    for fold in result["folds"]:
        (stream,) = fold["test_streams"]
        rows = np.flatnonzero(data.streams == stream)
        published = select([(int(data.seq[i]), scores[i]) for i in rows], 9)
        assert fold["highlights"] == len(published) > 0
    assert result["mean"]["highlights"] == sum(f["highlights"] for f in result["folds"])
    assert result["mean"]["roc_auc"] == pytest.approx(np.mean([f["roc_auc"] for f in result["folds"]]))


def test_a_budget_asked_for_overrides_the_artifacts(model_and_held_out):
    model, data = model_and_held_out
    few = evaluate(model, data, per_hour=2)["models"]["metamodel"]["mean"]["highlights"]
    many = evaluate(model, data, per_hour=30)["models"]["metamodel"]["mean"]["highlights"]
    assert 0 < few < many


def test_the_stored_group_models_and_the_raw_signals_are_the_baselines(model_and_held_out):
    model, data = model_and_held_out
    models = evaluate(model, data)["models"]
    assert set(models) == {
        "metamodel",
        "chat only",
        "audio only",
        "message count",
        "message-rate ratio",
        "loudness",
        "motion",
    }
    assert np.array_equal(models["loudness"]["scores"], data.columns(["audio_loudness"])[:, 0])
    assert models["metamodel"]["mean"]["roc_auc"] > models["motion"]["mean"]["roc_auc"]
