"""Load an official PANNs checkpoint (`{"model": state_dict}`) into our network, unchanged.

The official files also carry their front end as tensors: `spectrogram_extractor.stft.conv_*`
(the DFT basis torchlibrosa uses as conv weights) and `logmel_extractor.melW` (the mel
filterbank). They are not learned (frozen in training) and our front end computes the same
numbers with torchaudio, so the loader checks them (shape; the filterbank's values, which catch
a checkpoint made for another sample rate or mel range) and then leaves them out.
"""

from __future__ import annotations

from pathlib import Path

import torch

from panns.audio import N_FFT, N_FREQS, mel_filters
from panns.model import DIMS, PannsTagger, build

FRONT_END_KEYS = (
    "spectrogram_extractor.stft.conv_real.weight",
    "spectrogram_extractor.stft.conv_imag.weight",
    "logmel_extractor.melW",
)


class CheckpointError(Exception):
    """Raised by load_model() for a missing, unreadable or mismatched checkpoint file."""


def load_model(path: str | Path, name: str = "Cnn14") -> PannsTagger:
    """Model `name` with the weights of the checkpoint at `path`, in eval mode."""
    if name not in DIMS:
        raise CheckpointError(f"unknown model {name!r}; choose one of {', '.join(DIMS)}")
    state = _read_state_dict(Path(path), name)
    _check_front_end(state, path)
    model = build(name)
    weights = {k: v for k, v in state.items() if k not in FRONT_END_KEYS}
    _check_architecture(model, weights, name, path)
    model.load_state_dict(weights, strict=True)
    return model.eval()


def detect_model(state: dict[str, torch.Tensor]) -> str | None:
    """Which architecture a state dict is for, from its last ConvBlock, or None."""
    for name, dims in DIMS.items():
        last = f"conv_block{len(dims.channels)}.conv2.weight"
        if last in state and f"conv_block{len(dims.channels) + 1}.conv1.weight" not in state:
            return name
    return None


def _read_state_dict(path: Path, name: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: fetch it with `python -m panns download --model {name}`")
    try:
        # weights_only: tensors and plain containers only, never arbitrary pickled objects.
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint: {exc}") from exc
    if not isinstance(blob, dict) or not isinstance(blob.get("model"), dict):
        raise CheckpointError(f"{path} is not a PANNs checkpoint: expected a dict with a 'model' state dict")
    return blob["model"]


def _check_front_end(state: dict[str, torch.Tensor], path: str | Path) -> None:
    expected = {
        FRONT_END_KEYS[0]: (N_FREQS, 1, N_FFT),
        FRONT_END_KEYS[1]: (N_FREQS, 1, N_FFT),
        FRONT_END_KEYS[2]: tuple(mel_filters().shape),
    }
    for key, shape in expected.items():
        if key in state and tuple(state[key].shape) != shape:
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, expected {shape}: "
                "a checkpoint for another sample rate or front end (this package is 32 kHz, 64 mel bins)"
            )
    mel = state.get(FRONT_END_KEYS[2])
    if mel is not None and not torch.allclose(mel.float(), mel_filters(), atol=1e-6):
        raise CheckpointError(f"{path}: its mel filterbank differs from ours (32 kHz, 50-14000 Hz): another front end")


def _check_architecture(model: PannsTagger, weights: dict[str, torch.Tensor], name: str, path: str | Path) -> None:
    found = detect_model(weights)
    if found and found != name:
        raise CheckpointError(
            f"{path} is a {found} checkpoint, not {name}: pass --model {found} (or PANNS_MODEL={found})"
        )
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not fit {name}: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    for key, tensor in expected.items():
        if tuple(weights[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(weights[key].shape)}, {name} needs {tuple(tensor.shape)}"
            )
