"""`audio_tag:<AudioSet class>` features from the PANNs tagger, run on the shared model worker.

One loaded network serves every stream job: each job's scoring thread submits its segment's
audio to the ModelWorker (server/inference.py), which batches segments of different streams
into one forward pass on its own thread. Without a checkpoint the tagger is "off": its features
are None, so the metamodel imputes the group at its mean and it neither helps nor hurts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torchaudio

from panns.audio import SAMPLE_RATE
from panns.checkpoint import CheckpointError, load_model
from panns.labels import index_of
from panns.model import PannsTagger
from panns.tagging import tag
from server.inference import ModelWorker, Overdue

log = logging.getLogger(__name__)

WORKER_KEY = "audio_tag"
PREFIX = "audio_tag:"
# The original prototype's 16 classes (seed-metamodel.json), then the crowd and action sounds
# the issue adds. Exact AudioSet display names (panns/class_labels_indices.csv).
DEFAULT_CLASSES: tuple[str, ...] = (
    "Music",
    "Walk, footsteps",
    "Speech",
    "Male speech, man speaking",
    "Female speech, woman speaking",
    "Child speech, kid speaking",
    "Fusillade",
    "Gunshot, gunfire",
    "Machine gun",
    "Thunder",
    "Thunderstorm",
    "Artillery fire",
    "Boom",
    "Laughter",
    "Baby laughter",
    "Belly laugh",
    "Cheering",
    "Applause",
    "Screaming",
    "Shout",
    "Explosion",
    "Crowd",
)
NO_CHECKPOINT = "audio tagging off: no checkpoint"
RESULT_TIMEOUT_S = 120.0  # a batch of 16 Cnn14 segments on 2 busy cores; beyond that something is stuck
# Segments per forward pass. Every segment in a pass waits for the whole pass (~0.7 s of one core
# per Cnn14 segment), so a pass's length is added to the lag of each segment in it. bench/panns.py
# on this 2-core machine: 0.71-0.76 CPU-s per segment at batch 1, 0.649 at 2, 0.637 at 4: two keep
# nearly all of batching's saving, and a segment waits ~1.4 s for its pass instead of ~2.9 s.
BATCH_SEGMENTS = 2
BUSY_NOTICE = "audio tagging busy: some candidate segments went untagged to keep up"
BUSY_NOTICE_S = 300.0  # the notice stays this long after the last segment that went untagged


def parse_classes(raw) -> tuple[str, ...]:
    """AUDIO_TAG_CLASSES: a list (config.py) or a ";"-separated string (env; the names hold commas)."""
    names = [str(n).strip() for n in (raw if isinstance(raw, (list, tuple)) else str(raw).split(";")) if str(n).strip()]
    for name in names:
        index_of(name)  # KeyError names a class that is not an AudioSet display name
    return tuple(names)


def feature_names(classes: Sequence[str]) -> list[str]:
    return [PREFIX + name for name in classes]


class AudioTagger:
    """Tags segments with `model` on `worker`; `model` None means tagging is off (see `notice`)."""

    def __init__(
        self,
        worker: ModelWorker,
        model: PannsTagger | None,
        classes: Sequence[str] = DEFAULT_CLASSES,
        notice: str | None = None,
        candidates_only: bool = True,
        max_wait_s: float | None = None,
    ):
        self.classes = tuple(classes)
        self.indices = [index_of(name) for name in self.classes]  # KeyError names a bad class
        self.model, self.worker, self.notice = model, worker, notice
        self.candidates_only = candidates_only
        # A cascade candidate whose tagging has not started within this many seconds goes untagged
        # (imputed): a backlog on the one model thread must not hold every live stream back.
        self.max_wait_s = max_wait_s
        self.tagged = self.skipped = self.untagged_busy = 0
        self._last_busy = float("-inf")
        if model is not None:
            # NHWC convolutions: 16-20 % fewer CPU-seconds per segment in batches (bench/panns.py).
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs omit it
            worker.register(WORKER_KEY, self._batch, max_batch=BATCH_SEGMENTS)

    @classmethod
    def from_checkpoint(cls, worker: ModelWorker, checkpoint: Path, model_name: str, **options) -> AudioTagger:
        """Load the network once; a missing or unfit checkpoint turns tagging off with a notice."""
        try:
            model = load_model(checkpoint, model_name)
        except CheckpointError as exc:
            notice = NO_CHECKPOINT if not Path(checkpoint).is_file() else f"audio tagging off: {exc}"
            log.warning("%s (%s); the server runs on, audio_tag features are imputed", notice, exc)
            return cls(worker, None, notice=notice, **options)
        log.info("audio tagging: %s from %s", model_name, checkpoint)
        return cls(worker, model, **options)

    @property
    def on(self) -> bool:
        return self.model is not None

    def busy_notice(self) -> str | None:
        """BUSY_NOTICE while candidates have recently gone untagged because the model was busy."""
        return BUSY_NOTICE if time.monotonic() - self._last_busy < BUSY_NOTICE_S else None

    def counts(self) -> dict[str, int]:
        """How many segments were tagged, ruled out by the cascade, and left untagged while busy."""
        return {"tagged": self.tagged, "skipped": self.skipped, "untagged_busy": self.untagged_busy}

    def missing(self) -> dict[str, float | None]:
        return dict.fromkeys(feature_names(self.classes))

    def features(
        self, samples: np.ndarray | None, rate: int, candidate: bool = True, reference: bool = False
    ) -> dict[str, float | None]:
        """This segment's class probabilities; None values when off, without audio (`samples` None
        or empty) or, with candidates_only (AUDIO_TAG_CANDIDATES_ONLY, on by default), when it is
        not a `candidate`: no tags could lift it to the highlight bar (the featurizer decides,
        metamodel/cascade.py). The tagger's CPU then goes to segments that can become highlights.
        A candidate that is not the `reference` sample also goes untagged when the model thread
        cannot start on it within `max_wait_s` (AUDIO_TAG_MAX_WAIT_S): see `busy_notice`.
        """
        if not self.on or samples is None or samples.size == 0:
            return self.missing()
        if self.candidates_only and not candidate:
            self.skipped += 1
            return self.missing()
        clip = resample_to_model_rate(samples, rate)
        may_wait = None if reference or not self.candidates_only else self.max_wait_s
        try:
            probabilities = self.worker.run(WORKER_KEY, clip, timeout=RESULT_TIMEOUT_S, max_wait_s=may_wait)
        except Overdue:
            self.untagged_busy += 1
            self._last_busy = time.monotonic()
            return self.missing()
        except Exception as exc:  # a stuck or failing model must not cost the segment its score
            log.warning("audio tagging failed for a segment (%s: %s); its tags are imputed", type(exc).__name__, exc)
            return self.missing()
        self.tagged += 1
        return {
            PREFIX + name: round(float(probabilities[i]), 6) for name, i in zip(self.classes, self.indices, strict=True)
        }

    def _batch(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One forward pass per group of clips of about the same length (to 0.1 s).

        Each group is cropped to its shortest clip (losing under 0.1 s) rather than padded:
        padding with silence would change a short clip's max+mean pooled probabilities.
        """
        assert self.model is not None
        groups: dict[int, list[int]] = {}
        for i, clip in enumerate(clips):
            groups.setdefault(len(clip) // (SAMPLE_RATE // 10), []).append(i)
        results: list[np.ndarray] = [np.empty(0)] * len(clips)
        for members in groups.values():
            shortest = min(len(clips[i]) for i in members)
            for i, row in zip(members, tag(self.model, [clips[i][:shortest] for i in members]), strict=True):
                results[i] = row
        return results


def resample_to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float samples at `rate` -> 32 kHz, the rate the checkpoints were trained at."""
    if rate == SAMPLE_RATE:
        return np.ascontiguousarray(samples, dtype=np.float32)
    wave = torch.tensor(samples, dtype=torch.float32)  # a copy: decoded buffers are read-only
    return torchaudio.functional.resample(wave, rate, SAMPLE_RATE).numpy()


def tagger_for_tools(model_name: str | None = None, checkpoint: Path | None = None) -> AudioTagger:
    """A tagger for one-process tools (`python -m server.analyze`), from the same settings as the server."""
    from appconfig import as_bool, setting
    from panns.download import cache_path

    name = model_name or setting("PANNS_MODEL", "Cnn14")
    path = checkpoint or setting("PANNS_CHECKPOINT", None, Path) or cache_path(name)
    classes = setting("AUDIO_TAG_CLASSES", DEFAULT_CLASSES, parse_classes)
    return AudioTagger.from_checkpoint(
        ModelWorker(window_s=0.0, name="tool-model-worker"),
        Path(path),
        name,
        classes=classes,
        candidates_only=setting("AUDIO_TAG_CANDIDATES_ONLY", True, as_bool),
    )
