"""PANNs audio tagging (Cnn14, Cnn10) on AudioSet's 527 classes, with a torchaudio front end.

    from panns import load_model, tag
    model = load_model(cache_path("Cnn14"), "Cnn14")
    probabilities = tag(model, [samples_32k_mono])   # (clips, 527) numpy

Nothing here touches the network or prints at import; weights come only from
`python -m panns download`.
"""

from __future__ import annotations

from panns.checkpoint import CheckpointError, load_model
from panns.download import cache_path
from panns.labels import labels
from panns.tagging import tag

__all__ = ["CheckpointError", "cache_path", "labels", "load_model", "tag"]
