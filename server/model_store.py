"""The live metamodel, reloaded from its file when the file changes: no restart to deploy a model.

Jobs call the store (`ctx.model()`) once per segment. At most every `check_s` seconds that call
looks at the file's mtime and size; when they changed, the new file is loaded and validated
first. A file that fails validation is refused: the error is logged and kept for `status()`
(`/healthz`, `GET /api/v1/model`) and the model in use stays. Retraining writes the file
atomically (`metamodel.save_metamodel`), so a half-written file is never seen; a refused file
is retried only when it changes again.

A configured file that does not exist yet (no retraining has run) is not an error: the shipped
default scores until the file appears, and `status()` says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metamodel import Metamodel, MetamodelError, load_metamodel
from metamodel.artifact import DEFAULT_MODEL_PATH

log = logging.getLogger(__name__)


class ModelStore:
    def __init__(self, path: Path | None = None, check_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        """Load the model now; a bad file at start-up raises MetamodelError (the server must not start)."""
        self.path = Path(path) if path else DEFAULT_MODEL_PATH
        self.check_s = check_s
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = self._stat()
        self.serving = self.path if self._signature is not None else DEFAULT_MODEL_PATH
        if self.serving != self.path:
            log.warning("no model at %s yet: scoring with the shipped default until one is written there", self.path)
        self._model = load_metamodel(self.serving)
        self._loaded_at = time.time()
        self._checked = clock()
        self.last_error: str | None = None
        self.reloads = 0

    def __call__(self) -> Metamodel:
        """The current model, reloading it first if its file changed (checked at most every check_s)."""
        with self._lock:
            now = self._clock()
            if now - self._checked >= self.check_s:
                self._checked = now
                self._reload_if_changed()
            return self._model

    def check_now(self) -> Metamodel:
        """Look at the file now, whatever the interval (tests, the status endpoint)."""
        with self._lock:
            self._checked = self._clock()
            self._reload_if_changed()
            return self._model

    def status(self) -> dict[str, Any]:
        model = self._model
        return {
            "path": str(self.path),
            "serving": str(self.serving),  # the shipped default until a model is written at `path`
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._loaded_at)),
            "reloads": self.reloads,
            "highlights_per_hour": model.per_hour,
            "features": len(model.features),
            "trained_at": model.provenance.get("trained_at"),
            "error": self.last_error,
        }

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        # The inode too: an atomic replace within one mtime tick still shows up as a change.
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _reload_if_changed(self) -> None:
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        if signature is None:
            self.last_error = f"model file {self.path} disappeared; keeping the loaded model"
            log.error("%s", self.last_error)
            return
        try:
            model = load_metamodel(self.path)
        except MetamodelError as exc:
            self.last_error = f"new model refused, the previous one stays: {exc}"
            log.error("%s", self.last_error)
            return
        self._model, self._loaded_at, self.last_error, self.serving = model, time.time(), None, self.path
        self.reloads += 1
        log.info(
            "metamodel reloaded from %s (%.1f highlights per hour, %d features)",
            self.path,
            model.per_hour,
            len(model.features),
        )
