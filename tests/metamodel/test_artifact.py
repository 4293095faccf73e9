"""The metamodel artifact: round trip, scoring, and refusal of anything inconsistent."""

import json
import math

import pytest

from metamodel import FEATURES, Metamodel, MetamodelError, load_metamodel


def tiny_model(**overrides) -> dict:
    data = {
        "schema_version": 2,
        "features": ["chat_messages", "motion_mean"],
        "scaler_mean": [10.0, 0.02],
        "scaler_scale": [5.0, 0.01],
        "coef": [1.0, 2.0],
        "intercept": -1.0,
        "highlights_per_hour": 6,
    }
    data.update(overrides)
    return data


def test_the_shipped_model_loads_and_uses_only_schema_features():
    from metamodel.build_default import build
    from metamodel.selection import DEFAULT_PER_HOUR
    from server.features.audio_tags import DEFAULT_CLASSES, feature_names

    model = load_metamodel()
    ranked_tags = {"rank:" + name for name in feature_names(DEFAULT_CLASSES)}
    assert set(model.features) <= set(FEATURES) | ranked_tags
    assert all(f.startswith("rank:") for f in model.features)  # stream-relative only
    assert model.per_hour == DEFAULT_PER_HOUR
    assert model.to_dict() == build().to_dict(), "default_model.json is what build_default writes"


def test_score_is_the_logistic_of_standardised_terms():
    model = Metamodel.from_dict(tiny_model())
    p = model.score({"chat_messages": 15.0, "motion_mean": 0.03})
    assert p == pytest.approx(1 / (1 + math.exp(-(-1.0 + 1.0 * 1 + 2.0 * 1))))


def test_a_missing_feature_is_imputed_at_the_mean_and_adds_nothing():
    model = Metamodel.from_dict(tiny_model())
    assert model.contributions({"chat_messages": None, "motion_mean": 0.02}) == {
        "chat_messages": 0.0,
        "motion_mean": 0.0,
    }
    assert model.score({}) == pytest.approx(1 / (1 + math.exp(1.0)))


def test_an_artifact_survives_a_round_trip(tmp_path):
    path = tmp_path / "model.json"
    model = Metamodel.from_dict(tiny_model(provenance={"by": "test"}))
    path.write_text(json.dumps(model.to_dict()))
    assert load_metamodel(path) == model


@pytest.mark.parametrize(
    "overrides, message",
    [
        pytest.param({"schema_version": 99}, "schema_version", id="wrong-version"),
        pytest.param({"features": ["chat_messages", "banana"]}, "unknown feature", id="unknown-feature"),
        pytest.param({"coef": [1.0]}, "coef must be a list of 2", id="short-coef"),
        pytest.param({"scaler_scale": [0.0, 1.0]}, "positive", id="zero-scale"),
        pytest.param({"intercept": "x"}, "finite", id="text-intercept"),
        pytest.param({"highlights_per_hour": 0}, "highlights per hour", id="budget-out-of-range"),
        pytest.param({"highlights_per_hour": None}, "highlights per hour", id="no-budget"),
        pytest.param({"schema_version": 1}, "must be retrained", id="a-v1-model"),
        pytest.param({"features": ["chat_messages", "chat_messages"]}, "duplicates", id="duplicate-feature"),
    ],
)
def test_an_inconsistent_artifact_is_refused_with_the_reason(overrides, message):
    with pytest.raises(MetamodelError, match=message):
        Metamodel.from_dict(tiny_model(**overrides))


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("{not json")
    with pytest.raises(MetamodelError, match="not valid JSON"):
        load_metamodel(path)
