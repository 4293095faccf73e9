"""audio_tag:* features: one shared PANNs model on the model worker, batched across streams."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from server_app import AUTH, job_body
from waiting import wait_for

from metamodel import Metamodel
from panns.model import build
from panns.tagging import tag
from server import media
from server.features import SegmentFeaturizer
from server.features.audio_tags import (
    BATCH_SEGMENTS,
    BUSY_NOTICE,
    DEFAULT_CLASSES,
    NO_CHECKPOINT,
    AudioTagger,
    parse_classes,
    resample_to_model_rate,
)
from server.inference import ModelWorker

ROOT = Path(__file__).resolve().parents[2]
CLIPS = [ROOT / "server" / "demo" / "media" / name for name in ("seed-lobby.mp4", "seed-gameplay.mp4")]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(2)
    state = build("Cnn10").state_dict()
    state["fc_audioset.bias"].uniform_(-3, 0)
    path = tmp_path_factory.mktemp("ckpt") / "Cnn10_random.pth"
    torch.save({"model": state}, path)
    return path


@pytest.fixture(scope="module")
def segments() -> list[np.ndarray]:
    """Four real 10 s segments (48 kHz, as the featurizer decodes them), two of each clip."""
    return [media.decode_audio(clip, start, 10.0) for clip in CLIPS for start in (0.0, 20.0)]


@pytest.fixture
def worker():
    w = ModelWorker(window_s=0.3, max_batch=8)
    yield w
    w.stop()


def test_the_default_classes_are_audioset_names_and_include_the_prototypes():
    assert parse_classes(list(DEFAULT_CLASSES)) == DEFAULT_CLASSES and len(DEFAULT_CLASSES) == 22
    assert {"Gunshot, gunfire", "Laughter", "Cheering", "Explosion", "Crowd"} <= set(DEFAULT_CLASSES)


@pytest.mark.parametrize(
    "raw, expected",
    [
        pytest.param("Speech; Gunshot, gunfire", ("Speech", "Gunshot, gunfire"), id="env-semicolons"),
        pytest.param(["Laughter"], ("Laughter",), id="config-list"),
    ],
)
def test_the_class_setting_keeps_commas_inside_names(raw, expected):
    assert parse_classes(raw) == expected


def test_an_unknown_class_name_is_refused():
    with pytest.raises(KeyError, match="'Gunfire' is not an AudioSet display name"):
        parse_classes("Gunfire")


def test_features_are_the_model_probabilities_of_the_configured_classes(worker, checkpoint, segments):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10", classes=("Speech", "Gunshot, gunfire"))
    values = tagger.features(segments[0], media.AUDIO_RATE)
    direct = tag(tagger.model, [resample_to_model_rate(segments[0], media.AUDIO_RATE)])[0]
    assert values == pytest.approx({"audio_tag:Speech": direct[0], "audio_tag:Gunshot, gunfire": direct[427]}, abs=1e-5)


def test_segments_of_different_streams_share_one_forward_pass(worker, checkpoint, segments):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10")
    alone = [tag(tagger.model, [resample_to_model_rate(s, media.AUDIO_RATE)])[0] for s in segments]
    results: dict[int, dict] = {}
    barrier = threading.Barrier(len(segments))

    def stream_job(i: int) -> None:  # each "stream" submits from its own scoring thread
        barrier.wait()
        results[i] = tagger.features(segments[i], media.AUDIO_RATE)

    threads = [threading.Thread(target=stream_job, args=(i,)) for i in range(len(segments))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Three segments from three streams at once: forward passes of BATCH_SEGMENTS, not one each.
    assert worker.batches_run == math.ceil(len(segments) / BATCH_SEGMENTS) < len(segments)
    for i, probabilities in enumerate(alone):
        assert results[i]["audio_tag:Speech"] == pytest.approx(probabilities[0], abs=1e-4)


def test_without_a_checkpoint_tagging_is_off_and_its_features_are_missing(worker, tmp_path, segments):
    tagger = AudioTagger.from_checkpoint(worker, tmp_path / "absent.pth", "Cnn14")
    assert not tagger.on and tagger.notice == NO_CHECKPOINT
    values = tagger.features(segments[0], media.AUDIO_RATE)
    assert len(values) == 22 and set(values.values()) == {None}


def test_a_checkpoint_of_another_model_turns_tagging_off_with_its_reason(worker, checkpoint):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn14")
    assert not tagger.on and "is a Cnn10 checkpoint" in tagger.notice


def test_a_failing_model_leaves_the_tags_missing_instead_of_losing_the_segment(worker, checkpoint, segments):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10")
    worker.stop()  # e.g. the server is shutting down while a segment is scored
    values = tagger.features(segments[0], media.AUDIO_RATE)
    assert set(values.values()) == {None}


def metamodel() -> Metamodel:
    # motion_mean alone decides the cheap score here; the tag term would add on top. A typical
    # segment (every feature at its mean) scores sigmoid(0) = 0.5.
    return Metamodel(["motion_mean", "audio_tag:Speech"], [0.1, 0.5], [0.1, 0.2], [2.0, 1.0], 0.0, 6.0)


@pytest.mark.parametrize(
    "candidates_only, candidate, tagged", [(True, True, True), (True, False, False), (False, False, True)]
)
def test_with_candidates_only_a_segment_the_cascade_rules_out_is_not_tagged(
    worker, checkpoint, segments, candidates_only, candidate, tagged
):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10", candidates_only=candidates_only)
    values = tagger.features(segments[0], media.AUDIO_RATE, candidate)
    assert (values["audio_tag:Speech"] is not None) == tagged
    assert (tagger.tagged, tagger.skipped) == ((1, 0) if tagged else (0, 1))


@pytest.mark.parametrize(
    "motion, bar, tagged",
    [
        # cheap logit 2 x (0.3 - 0.1) / 0.1 = 4, best tags add 1 x (1 - 0.5) / 0.2 = 2.5: sigmoid(6.5) = 0.998
        pytest.param(0.3, 0.9, True, id="could-reach-the-bar"),
        pytest.param(-0.3, 0.9, False, id="no-tags-could-lift-it"),  # sigmoid(-8 + 2.5) = 0.004
        pytest.param(-0.3, 0.003, True, id="a-low-bar"),
        pytest.param(-0.3, None, True, id="warming-up-no-bar-yet"),
    ],
)
def test_the_featurizer_tags_just_the_segments_that_tags_could_lift_to_the_bar(worker, checkpoint, motion, bar, tagged):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10", candidates_only=True)
    featurizer = SegmentFeaturizer(audio_tags=tagger.features, tag_reference_every=10)
    featurizer._tag_count = 1  # not the reference sample, which is tagged whatever the bar
    featurizer.motion = lambda frames: {"motion_mean": motion}  # type: ignore[method-assign]  # the cheap score
    values = featurizer.featurize(CLIPS[1], None, 0.0, 2.0, model=metamodel(), bar=bar)
    assert (values["audio_tag:Speech"] is not None) == tagged


def test_streams_tag_their_reference_segments_in_different_seconds(worker, checkpoint):
    """Streams started together would otherwise all ask the one model thread at once, every time."""
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10", candidates_only=True)
    tagged: dict[int, list[int]] = {}
    for phase in (0, 3):
        featurizer = SegmentFeaturizer(audio_tags=tagger.features, tag_reference_every=4, tag_reference_phase=phase)
        featurizer.motion = lambda frames: {"motion_mean": -0.3}  # type: ignore[method-assign]  # never a candidate
        runs = [featurizer.featurize(CLIPS[1], None, 0.0, 1.0, model=metamodel(), bar=0.9) for _ in range(8)]
        tagged[phase] = [i for i, values in enumerate(runs) if values["audio_tag:Speech"] is not None]
    assert tagged == {0: [0, 4], 3: [3, 7]}


def test_a_candidate_the_busy_model_thread_cannot_start_on_soon_goes_untagged_and_the_status_says_so(
    worker, checkpoint, segments
):
    tagger = AudioTagger.from_checkpoint(worker, checkpoint, "Cnn10", candidates_only=True, max_wait_s=0.2)
    release = threading.Event()
    worker.register("other stream's work", lambda items: [release.wait(10) for _ in items])
    busy = worker.submit("other stream's work", None)
    assert tagger.busy_notice() is None
    values = tagger.features(segments[0], media.AUDIO_RATE, candidate=True)
    assert values["audio_tag:Speech"] is None, "imputed: it would have come too late"
    assert tagger.counts() == {"tagged": 0, "skipped": 0, "untagged_busy": 1}
    assert tagger.busy_notice() == BUSY_NOTICE
    # The reference sample, which the tags' ranks learn from, waits for the model however long.
    reference: dict = {}
    waiting = threading.Thread(
        target=lambda: reference.update(tagger.features(segments[1], media.AUDIO_RATE, True, reference=True))
    )
    waiting.start()
    threading.Timer(0.5, release.set).start()
    waiting.join(30)
    busy.result(timeout=10)
    assert reference["audio_tag:Speech"] is not None
    assert tagger.counts()["tagged"] == 1


def test_the_metamodel_imputes_missing_tags_so_they_add_nothing():
    model = metamodel()
    assert model.score({"motion_mean": 0.2, "audio_tag:Speech": None}) == model.score({"motion_mean": 0.2})


def test_without_weights_the_server_runs_and_says_so_in_job_status(make_app, tmp_path, webapp_stub):
    client = make_app(PANNS_CHECKPOINT=tmp_path / "absent.pth").test_client()
    assert client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH).status_code == 201
    assert NO_CHECKPOINT in client.get("/api/v1/jobs/1", headers=AUTH).get_json()["degraded"]
    assert wait_for(lambda: webapp_stub.posted("status"))
    assert NO_CHECKPOINT in webapp_stub.posted("status")[0]["degraded"]


@pytest.mark.timeout(120)
def test_a_live_job_reports_audio_tags_from_the_shared_model(make_app, webapp_stub, checkpoint):
    threads = torch.get_num_threads()
    try:
        app = make_app(PANNS_MODEL="Cnn10", PANNS_CHECKPOINT=checkpoint, MODEL_THREADS=1)
        assert torch.get_num_threads() == 1
        client = app.test_client()
        client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
        # Stream 1's reference sample is its second segment (the references are spread by stream).
        assert wait_for(lambda: len(webapp_stub.posted("segments")) >= 2, timeout=90)
        features = webapp_stub.posted("segments")[1]["segments"][0]["features"]
        tags = {k: v for k, v in features.items() if k.startswith("audio_tag:")}
        assert len(tags) == 22 and all(0 <= v <= 1 for v in tags.values())
        assert client.get("/api/v1/jobs/1", headers=AUTH).get_json()["degraded"] == ["chat off: no chat channel"]
        assert app.extensions["model_worker"].batches_run >= 1
        assert client.get("/healthz").get_json()["audio_tagging"]["tagged"] >= 1
    finally:
        torch.set_num_threads(threads)  # process-wide: give the other tests their threads back


def test_analyze_tags_a_recording_with_the_configured_checkpoint(tmp_path, monkeypatch, checkpoint):
    from server.analyze import analyze

    clip = tmp_path / "clip.mp4"
    media.run_ffmpeg(["-i", str(CLIPS[1]), "-t", "12", "-c", "copy", str(clip)])
    monkeypatch.setenv("PANNS_MODEL", "Cnn10")
    monkeypatch.setenv("PANNS_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("AUDIO_TAG_CANDIDATES_ONLY", "false")  # every segment, not only the cascade's
    segments = analyze(clip, progress=False)["segments"]
    assert all(0 <= s["features"]["audio_tag:Speech"] <= 1 for s in segments)


def test_analyze_runs_the_cascade_by_default_tagging_the_reference_sample_at_least(tmp_path, monkeypatch, checkpoint):
    from server.analyze import analyze

    clip = tmp_path / "clip.mp4"
    media.run_ffmpeg(["-i", str(CLIPS[1]), "-t", "12", "-c", "copy", str(clip)])
    monkeypatch.setenv("PANNS_MODEL", "Cnn10")
    monkeypatch.setenv("PANNS_CHECKPOINT", str(checkpoint))
    segments = analyze(clip, progress=False)["segments"]
    tagged = [s["features"]["audio_tag:Speech"] is not None for s in segments]
    assert tagged[0] and not tagged[1], "the first is the reference sample; the next cannot open a highlight yet"
