"""Macro-F1 of the sentiment classifiers on the labelled #xqcow set (tests/data/).

    .venv/bin/python bench/sentiment_f1.py [--model FOLDER_OR_ID]

Prints, for the dev half, the test half and all 380 messages: our lexicon, the same without the
project's extra emote table, the Kobs et al. emote lexicon alone, VADER alone (its own +-0.05
cut-offs) and, with --model, the transformers backend.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.chat.sentiment import ChatText, load_backend  # noqa: E402
from server.chat.sentiment.lexicon import LexiconSentiment  # noqa: E402

LABELLED = ROOT / "tests" / "data" / "xqcow_sentiment_labels.tsv"


def rows() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8") as fh:
        return list(csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t",
                                   quoting=csv.QUOTE_NONE, escapechar="\\"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="also score the transformers backend with this model")
    args = parser.parse_args()
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()

    def vader_labels(texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            c = vader.polarity_scores(text)["compound"]
            out.append("positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral")
        return out

    def backend_labels(backend):
        return lambda texts: [s.label for s in backend.classify([ChatText(t) for t in texts])]

    classifiers = {
        "lexicon (ours)": backend_labels(LexiconSentiment()),
        "Kobs emotes + VADER words": backend_labels(LexiconSentiment(extras=False)),
        "Kobs emotes alone": backend_labels(LexiconSentiment(extras=False, words=False)),
        "VADER alone": vader_labels,
    }
    if args.model:
        classifiers[f"transformers {args.model}"] = backend_labels(load_backend("transformers", args.model))
    data = rows()
    splits = {"dev": [r for r in data if r["split"] == "dev"], "test": [r for r in data if r["split"] == "test"],
              "all": data}
    print(f"{'classifier':<40}" + "".join(f"{name:>8}" for name in splits))
    for name, classify in classifiers.items():
        scores = [f1_score([r["label"] for r in part], classify([r["text"] for r in part]), average="macro")
                  for part in splits.values()]
        print(f"{name:<40}" + "".join(f"{score:8.3f}" for score in scores))


if __name__ == "__main__":
    main()
