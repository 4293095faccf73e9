"""The PANNs audio-tagging networks (Kong et al. 2020): Cnn14 and the smaller Cnn10.

nn modules only. Parameter names match the official checkpoints' `model` state dicts, so those
load unchanged (see checkpoint.py for the front-end keys they also carry).
Shapes in comments for a batch of B clips of 10 s at 32 kHz (T = 1001 frames, 64 mel bins).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from panns.audio import N_MELS, log_mel
from panns.labels import N_CLASSES


@dataclass(frozen=True)
class ModelDims:
    name: str
    channels: tuple[int, ...]  # output channels of each ConvBlock
    n_mels: int = N_MELS
    n_classes: int = N_CLASSES

    @property
    def embedding(self) -> int:
        return self.channels[-1]


DIMS = {
    "Cnn14": ModelDims("Cnn14", (64, 128, 256, 512, 1024, 2048)),  # 80.8 M parameters, mAP 0.431
    "Cnn10": ModelDims("Cnn10", (64, 128, 256, 512)),  # 5.2 M parameters, mAP 0.380
}


class ConvBlock(nn.Module):
    """Two 3x3 conv + batch-norm + ReLU, then average pooling."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: tuple[int, int] = (2, 2)) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool) if pool != (1, 1) else x


class PannsTagger(nn.Module):
    """Waveform (B, samples) at 32 kHz -> clip-wise probabilities (B, 527).

    Cnn14 and Cnn10 differ only in their number of blocks; Cnn14's last block does not pool
    (its input is already 31x2 for 10 s), as in the reference.
    """

    def __init__(self, dims: ModelDims):
        super().__init__()
        self.dims = dims
        self.bn0 = nn.BatchNorm2d(dims.n_mels)  # normalises each mel bin
        channels = (1,) + dims.channels
        for i in range(len(dims.channels)):
            self.add_module(f"conv_block{i + 1}", ConvBlock(channels[i], channels[i + 1]))
        self.fc1 = nn.Linear(dims.embedding, dims.embedding, bias=True)
        self.fc_audioset = nn.Linear(dims.embedding, dims.n_classes, bias=True)

    def blocks(self) -> list[ConvBlock]:
        return [getattr(self, f"conv_block{i + 1}") for i in range(len(self.dims.channels))]

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.forward_logmel(log_mel(audio))

    def forward_logmel(self, x: torch.Tensor) -> torch.Tensor:
        """Log-mel (B, 1, T, 64) -> probabilities (B, 527)."""
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # batch-norm over the mel axis
        blocks = self.blocks()
        for i, block in enumerate(blocks):
            last_of_cnn14 = i == len(blocks) - 1 and len(blocks) == 6
            x = block(x, pool=(1, 1) if last_of_cnn14 else (2, 2))  # Cnn14: (B, 2048, T/32, 2)
            x = F.dropout(x, p=0.2, training=self.training)
        x = torch.mean(x, dim=3)  # over frequency: (B, C, T')
        x = torch.amax(x, dim=2) + torch.mean(x, dim=2)  # max + mean over time: (B, C)
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.relu(self.fc1(x))  # the embedding: (B, C)
        return torch.sigmoid(self.fc_audioset(x))  # (B, 527)


def build(name: str) -> PannsTagger:
    """An untrained network of architecture `name` ("Cnn14" or "Cnn10"), in eval mode."""
    if name not in DIMS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(DIMS)}")
    return PannsTagger(DIMS[name]).eval()
