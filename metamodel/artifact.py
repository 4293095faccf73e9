"""The metamodel as a JSON artifact: load, validate, score.

p = sigmoid(intercept + sum_i coef_i * (x_i - mean_i) / scale_i)

Which segments become highlights is not a probability cut: the selector publishes the stream's
best moments at `highlights_per_hour` (metamodel/selection.py), the model's default budget.

A feature that is missing for a segment (its group is off: no chat, no audio-tagger weights) is
imputed at the scaler mean, so its term is exactly zero and it neither helps nor hurts.
Never pickle: a JSON file of numbers loads safely whoever wrote it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durable import write_atomically
from metamodel.schema import SCHEMA_VERSION, group_of
from metamodel.selection import validate_per_hour

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "default_model.json"


class MetamodelError(ValueError):
    """Raised by `load_metamodel`/`Metamodel.from_dict` when an artifact is unusable."""


@dataclass(frozen=True)
class Metamodel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    per_hour: float  # the default highlight budget (metamodel/selection.py), highlights per hour
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metamodel:
        """Build a model from the artifact's JSON object, refusing anything inconsistent."""
        if not isinstance(data, Mapping):
            raise MetamodelError("artifact must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise MetamodelError(
                f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION}); a model "
                "trained before the reaction-window chat features must be retrained"
            )
        features = _feature_list(data.get("features"))
        columns = {
            name: _numbers(data.get(name), name, len(features)) for name in ("scaler_mean", "scaler_scale", "coef")
        }
        if any(s <= 0 for s in columns["scaler_scale"]):
            raise MetamodelError("scaler_scale must be positive")
        intercept = _number(data.get("intercept"), "intercept")
        try:
            per_hour = validate_per_hour(data.get("highlights_per_hour"))
        except ValueError as exc:
            raise MetamodelError(str(exc)) from None
        # Last: a wrong version or a missing feature deserves its own message, not just "edited".
        if "checksum" in data and data["checksum"] != _checksum_or_none(data):
            raise MetamodelError(
                "checksum does not match the contents: the file was edited or damaged "
                "(retrain, or delete the checksum field to accept a deliberate hand edit)"
            )
        return cls(
            features=features,
            mean=columns["scaler_mean"],
            scale=columns["scaler_scale"],
            coef=columns["coef"],
            intercept=intercept,
            per_hour=per_hour,
            provenance=dict(data.get("provenance") or {}),
            metrics=dict(data.get("metrics") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """The artifact's JSON object, with a checksum over everything else in it."""
        data = {
            "schema_version": SCHEMA_VERSION,
            # Copies: editing the returned object must never change this (frozen) model.
            "features": list(self.features),
            "scaler_mean": list(self.mean),
            "scaler_scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "highlights_per_hour": self.per_hour,
            "provenance": copy.deepcopy(self.provenance),
            "metrics": copy.deepcopy(self.metrics),
        }
        data["checksum"] = checksum_of(data)
        return data

    def contributions(self, values: Mapping[str, float | None]) -> dict[str, float]:
        """Each feature's term in the logit; missing or non-finite values contribute 0."""
        terms = {}
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            value = values.get(name)
            if value is None or not math.isfinite(value):
                terms[name] = 0.0
            else:
                terms[name] = coef * (value - mean) / scale
        return terms

    def score(self, values: Mapping[str, float | None]) -> float:
        """Probability that the segment is a highlight."""
        logit = self.intercept + sum(self.contributions(values).values())
        return _sigmoid(logit)


def load_metamodel(path: str | Path | None = None) -> Metamodel:
    """Load and validate an artifact; the shipped default model when `path` is None."""
    path = Path(path) if path else DEFAULT_MODEL_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MetamodelError(f"cannot read model {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise MetamodelError(f"model {path} is not valid JSON: {exc}") from exc
    return Metamodel.from_dict(data)


def checksum_of(data: Mapping[str, Any]) -> str:
    """sha256 of the artifact's canonical JSON without its checksum field."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _checksum_or_none(data: Mapping[str, Any]) -> str | None:
    try:
        return checksum_of(data)
    except (TypeError, ValueError):  # NaN or a non-JSON value: cannot match any checksum
        return None


def save_metamodel(model: Metamodel, path: str | Path) -> None:
    """Write the artifact atomically: a server polling the file never reads half of it."""
    # mkstemp-style 0600 would hide it from a server running as another user than the trainer.
    write_atomically(Path(path), json.dumps(model.to_dict(), indent=1) + "\n", mode=0o644)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _feature_list(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
        raise MetamodelError("features must be a non-empty list of names")
    if len(set(raw)) != len(raw):
        raise MetamodelError("features contain duplicates")
    for name in raw:
        try:
            group_of(name)
        except KeyError:
            raise MetamodelError(f"unknown feature {name!r} (not in schema v{SCHEMA_VERSION})") from None
    return list(raw)


def _numbers(raw: Any, name: str, length: int) -> list[float]:
    if not isinstance(raw, list) or len(raw) != length:
        raise MetamodelError(f"{name} must be a list of {length} numbers, one per feature")
    return [_number(v, name) for v in raw]


def _number(raw: Any, name: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise MetamodelError(f"{name} must hold finite numbers, got {raw!r}")
    return float(raw)
