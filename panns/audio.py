"""The PANNs front end: audio constants and a pure log-mel function (torchaudio).

It reproduces torchlibrosa's `Spectrogram` + `LogmelFilterBank` as configured by the official
32 kHz checkpoints, so the networks see the numbers they were trained on.
"""

from __future__ import annotations

import functools
import subprocess

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 32000  # Hz, the rate the 32 kHz checkpoints were trained at
N_FFT = 1024  # samples per STFT window: 32 ms
HOP_LENGTH = 320  # samples between frames: 10 ms, 100 frames a second
N_MELS = 64  # mel bins
F_MIN = 50.0  # Hz, lowest mel edge
F_MAX = 14000.0  # Hz, highest mel edge
AMIN = 1e-10  # power floor before log10 (librosa.power_to_db's amin)
REF = 1.0  # dB reference: 10*log10(power / REF); no top_db clipping
N_FREQS = N_FFT // 2 + 1  # 513 STFT bins
SEGMENT_SECONDS = 10
N_SAMPLES = SEGMENT_SECONDS * SAMPLE_RATE  # 320000 samples: one server segment
SILENCE_PEAK = 1e-4  # max |sample| below this (-80 dBFS) is treated as silence: nothing to tag


class AudioError(Exception):
    """Raised by load_audio() when ffmpeg cannot decode a file, or it holds no sound."""


@functools.lru_cache(maxsize=4)
def mel_filters(device: str = "cpu") -> torch.Tensor:
    """The (513, 64) slaney-normalised slaney-scale filterbank, as librosa.filters.mel makes it."""
    return torchaudio.functional.melscale_fbanks(
        n_freqs=N_FREQS,
        f_min=F_MIN,
        f_max=F_MAX,
        n_mels=N_MELS,
        sample_rate=SAMPLE_RATE,
        norm="slaney",
        mel_scale="slaney",
    ).to(device)


def log_mel(audio: torch.Tensor) -> torch.Tensor:
    """Log-mel power spectrogram in dB: (batch, samples) -> (batch, 1, frames, 64).

    frames = samples // 320 + 1 (centred, reflect-padded frames, like torchlibrosa).
    """
    if audio.dim() != 2:
        raise ValueError(f"audio must be (batch, samples), got shape {tuple(audio.shape)}")
    window = torch.hann_window(N_FFT, periodic=True, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(
        audio, N_FFT, HOP_LENGTH, N_FFT, window, center=True, pad_mode="reflect", return_complex=True
    )  # (batch, 513, frames)
    power = spec.real.square() + spec.imag.square()
    mel = torch.matmul(power.transpose(1, 2), mel_filters(str(audio.device)).to(audio.dtype))  # (batch, frames, 64)
    db = 10.0 * torch.log10(torch.clamp(mel, min=AMIN)) - 10.0 * np.log10(max(AMIN, REF))
    return db.unsqueeze(1)


def load_audio(path: str, ffmpeg: str = "ffmpeg") -> np.ndarray:
    """Decode any file ffmpeg reads (video too) to 32 kHz mono float32 in [-1, 1].

    Raises AudioError with ffmpeg's message when it cannot, or when there is no audio at all.
    """
    cmd = [
        ffmpeg,
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "f32le",
        "-",
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, check=True)
    except FileNotFoundError as exc:
        raise AudioError(f"ffmpeg not found ({ffmpeg}): install it (apt install ffmpeg)") from exc
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"cannot decode {path}: {message[-1] if message else 'ffmpeg failed'}") from exc
    samples = np.frombuffer(result.stdout, dtype=np.float32)
    if samples.size == 0:
        raise AudioError(f"{path} has no audio")
    return samples.copy()


def is_silent(samples: np.ndarray) -> bool:
    """True when the loudest sample is below SILENCE_PEAK: tagging it would only report noise."""
    return samples.size == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK
