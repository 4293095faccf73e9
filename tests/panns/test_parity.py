"""Our Cnn14 reproduces the reference (panns-inference + torchlibrosa) on the same checkpoint.

The checkpoint is made here with random weights (the official one cannot be fetched on these
machines), saved the official way as {"model": state_dict}, front-end tensors included, and
loaded by both implementations.
"""

from __future__ import annotations

import importlib
import shutil
import sys

import numpy as np
import pytest
import torch

from panns.audio import SAMPLE_RATE, load_audio, log_mel
from panns.checkpoint import load_model
from panns.labels import LABELS_CSV
from panns.tagging import tag


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """panns_inference.models, imported with a HOME that already holds the label CSV.

    Its config module otherwise runs `wget` at import time to fetch that CSV.
    """
    pytest.importorskip("torchlibrosa", reason="the reference needs torchlibrosa (requirements-dev.txt)")
    home = tmp_path_factory.mktemp("home")
    (home / "panns_data").mkdir()
    shutil.copy(LABELS_CSV, home / "panns_data" / "class_labels_indices.csv")
    patch = pytest.MonkeyPatch()
    patch.setenv("HOME", str(home))
    try:
        if "panns_inference" in sys.modules:
            return importlib.import_module("panns_inference.models")
        return pytest.importorskip(
            "panns_inference.models", reason="panns-inference not installed (requirements-dev.txt)"
        )
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def random_checkpoint(reference, tmp_path_factory):
    """A reference Cnn14 of random weights and random batch-norm statistics, saved officially."""
    torch.manual_seed(0)
    ref = reference.Cnn14(
        sample_rate=32000, window_size=1024, hop_size=320, mel_bins=64, fmin=50, fmax=14000, classes_num=527
    ).eval()
    with torch.no_grad():
        for name, module in ref.named_modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # non-trivial statistics, so bn0 etc. matter
                module.running_mean.uniform_(-0.5, 0.5) if name != "bn0" else module.running_mean.uniform_(-60, -20)
                module.running_var.uniform_(0.5, 2.0) if name != "bn0" else module.running_var.uniform_(50, 300)
        ref.fc_audioset.bias.uniform_(-3, 0)  # spread the probabilities away from 0.5
    path = tmp_path_factory.mktemp("ckpt") / "Cnn14_random.pth"
    torch.save({"model": ref.state_dict()}, path)
    return ref, path


def test_the_official_key_set_loads_unchanged(random_checkpoint):
    _, path = random_checkpoint
    assert load_model(path, "Cnn14").dims.name == "Cnn14"


def test_log_mel_matches_torchlibrosa(random_checkpoint, speech_wav):
    ref, _ = random_checkpoint
    audio = torch.from_numpy(load_audio(speech_wav))[None]
    with torch.no_grad():
        expected = ref.logmel_extractor(ref.spectrogram_extractor(audio))
    ours = log_mel(audio)
    assert ours.shape == expected.shape == (1, 1, audio.shape[1] // 320 + 1, 64)
    loud = expected > -60  # quiet bins differ more in dB for the same tiny absolute error
    assert torch.allclose(ours[loud], expected[loud], atol=2e-3)


def test_probabilities_match_the_reference_within_1e_3(random_checkpoint, speech_wav):
    ref, path = random_checkpoint
    samples = load_audio(speech_wav)
    assert len(samples) == 7 * SAMPLE_RATE
    with torch.no_grad():
        expected = ref(torch.from_numpy(samples)[None])["clipwise_output"].numpy()[0]
    ours = tag(load_model(path, "Cnn14"), [samples])[0]
    assert expected.std() > 0.01, "random weights gave flat outputs: the comparison would say little"
    assert np.abs(ours - expected).max() < 1e-3
