"""Macro-F1 of the chat sentiment classifiers on the labelled #xqcow sets (tests/data/).

    .venv/bin/python -m bench.sentiment_f1 [--model FOLDER_OR_ID]

Two sets, never pooled (docs/chat.md, "Quality"):
- `held-out`: tests/data/xqcow_sentiment_heldout.tsv, 400 messages sampled from the last 40 % of
  the log (in time) and labelled by an independent annotator who never saw the classifier code;
  nothing was tuned on it, and no rule was written after reading it. This is the figure to quote.
- `self-labelled`: tests/data/xqcow_sentiment_labels.tsv, 380 messages labelled by the engineer
  who then wrote twitch_extra.tsv after reading them: optimistic (its dev / test halves shown).

Classifiers: the shipped lexicon backend; the same without the hand-written extra table; the
backend as it was before issue 10 (no sarcasm, booster or "but" rules, no learned table); Kobs et al. emotes +
VADER words; Kobs emotes alone; VADER alone (its own +-0.05 cut-offs); with --model, the
transformers backend.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from pathlib import Path

from sklearn.metrics import f1_score

from server.chat.sentiment import ChatText, SentimentBackend, load_backend
from server.chat.sentiment.lexicon import LexiconSentiment

ROOT = Path(__file__).resolve().parent.parent

HELD_OUT = ROOT / "tests" / "data" / "xqcow_sentiment_heldout.tsv"
SELF_LABELLED = ROOT / "tests" / "data" / "xqcow_sentiment_labels.tsv"
LABELS = ("negative", "neutral", "positive")

Classifier = Callable[[list[str]], list[str]]


def read_labelled(path: Path, escaped: bool = False) -> list[dict[str, str]]:
    """Rows with at least `label` and `text` (TSV, `#` comment lines; `escaped`: backslash escapes,
    as the self-labelled file is written; the held-out file has raw text, tabs made spaces)."""
    with path.open(encoding="utf-8") as fh:
        rows = list(
            csv.DictReader(
                (line for line in fh if not line.startswith("#")),
                delimiter="\t",
                quoting=csv.QUOTE_NONE,
                escapechar="\\" if escaped else None,
            )
        )
    if rows and not {"label", "text"} <= set(rows[0]):
        raise SystemExit(f"{path}: expected columns 'label' and 'text', found {sorted(rows[0])}")
    bad = sorted({r["label"] for r in rows} - set(LABELS))
    if bad:
        raise SystemExit(f"{path}: unknown labels {bad}")
    return rows


def classifiers(model: str | None = None) -> dict[str, Classifier]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()

    def vader_labels(texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            c = vader.polarity_scores(text)["compound"]
            out.append("positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral")
        return out

    def labels_of(backend: SentimentBackend) -> Classifier:
        return lambda texts: [s.label for s in backend.classify([ChatText(t) for t in texts])]

    found: dict[str, Classifier] = {
        "lexicon (shipped)": labels_of(LexiconSentiment()),
        "lexicon without twitch_extra.tsv": labels_of(LexiconSentiment(extras=False)),
        "lexicon before issue 10": labels_of(LexiconSentiment(learned=False, sarcasm=False, vader_rules=False)),
        "Kobs emotes + VADER words": labels_of(
            LexiconSentiment(extras=False, learned=False, sarcasm=False, vader_rules=False)
        ),
        "Kobs emotes alone": labels_of(
            LexiconSentiment(extras=False, words=False, learned=False, sarcasm=False, vader_rules=False)
        ),
        "VADER alone": vader_labels,
    }
    if model:
        found[f"transformers {model}"] = labels_of(load_backend("transformers", model))
    return found


def macro_f1(classify: Classifier, rows: list[dict[str, str]]) -> float:
    return f1_score(
        [r["label"] for r in rows],
        classify([r["text"] for r in rows]),
        labels=list(LABELS),
        average="macro",
        zero_division=0,
    )


def sets() -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    if HELD_OUT.exists():
        found["held-out (independent)"] = read_labelled(HELD_OUT)
    self_labelled = read_labelled(SELF_LABELLED, escaped=True)
    found["self-labelled dev"] = [r for r in self_labelled if r["split"] == "dev"]
    found["self-labelled test"] = [r for r in self_labelled if r["split"] == "test"]
    found["self-labelled all"] = self_labelled
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="also score the transformers backend with this model")
    args = parser.parse_args()
    data = sets()
    if "held-out (independent)" not in data:
        print(f"note: {HELD_OUT.relative_to(ROOT)} is missing; only the optimistic self-labelled set is scored")
    print("macro-F1 (self-labelled = read while writing the rules: optimistic)")
    print(f"{'classifier':<36}" + "".join(f"{name:>24}" for name in data))
    print(f"{'(messages)':<36}" + "".join(f"{len(rows):>24}" for rows in data.values()))
    for name, classify in classifiers(args.model).items():
        print(f"{name:<36}" + "".join(f"{macro_f1(classify, rows):24.3f}" for rows in data.values()))


if __name__ == "__main__":
    main()
