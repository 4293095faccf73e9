"""Learn chat-word valences from emotes: `python -m server.chat.sentiment.train_lexicon [--check]`.

Distant supervision after Kobs et al. 2020 ("Emote-Controlled", ACM TSC 3(2)): on Twitch the
emotes are the readers' own sentiment labels. Each message of the training part of the recorded
#xqcow chat (`corpus.training_part`: the first 60 % in time; the held-out 40 % is never read)
that contains emotes of the Kobs et al. survey table gets the label of their mean valence,
cut at +-0.33 as in Kobs et al.'s average-based classifier (in between: no label). The emotes
are then removed and a logistic regression learns, from the rest of the message, which tokens
go with positive and which with negative emotes: words, emoji and emotes the survey does not
know (third-party emotes such as PogU typed as text, channel emotes). A token's valence is the
model's P(positive | that token alone) - P(negative | ...), i.e. tanh(coef / 2), on the same
-1..1 scale as the survey's (an average of -1/0/+1 votes).

Fixed choices, made before any labelled evaluation and not tuned on one:
- messages with a sarcasm marker (`tokenize.SARCASM_MARKERS`) are not labelled: their emotes
  say the opposite of their words;
- words within a negation's reach are left out (the backend flips them itself), and so are
  English stop words (scikit-learn's published list): with a few hundred labelled messages a
  word like "a" would otherwise take the mood of the messages it happened to be in;
- a message and its label count once however often it was pasted (copy-pasta would otherwise
  outvote everything else);
- scikit-learn's defaults (L2, C = 1), classes weighted to balance (chat is mostly positive);
- a token is kept only when its messages' labels differ from the labelled messages' overall
  share of positives by more than chance (two-sided binomial test, p < 0.05) in at least
  MIN_MESSAGES messages, and shipped only if neither the emote table nor VADER knows it (the
  backend reads those first). On 4.6 minutes of one chat that is a strict bar (a word seen in 11
  messages, all positive, is not distinguishable from chat's 84 % positive base rate), and it
  should be: a table learned from a few hundred messages is otherwise mostly the topics of the
  moment ("apex", "game", "girl") rather than sentiment.

`--log FILE` (repeatable) learns from other recorded chat instead, e.g. hours of a channel's own
chat (a raw IRC log or TwitchDownloader JSON, as `python -m server.analyze --chat` reads them);
all their messages are used, since no held-out part of them is evaluated here.

The output `data/chat_learned.tsv` is plain text, rebuilt byte for byte by this script (the
solver is deterministic and values are rounded); `--check` exits 1 if the shipped file differs.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from server.chat.irc import ChatMessage
from server.chat.logs import read_chat_file
from server.chat.sentiment.corpus import TRAINING_SHARE, XQCOW_LOG, training_part
from server.chat.sentiment.tokenize import NEGATIONS, SARCASM_MARKERS, Token, tokenize

DATA = Path(__file__).resolve().parent / "data"
LEARNED = DATA / "chat_learned.tsv"
LABEL_CUT = 0.33  # Kobs et al.'s average-based classifier: mean valence beyond +-0.33 is polar
MIN_MESSAGES = 3
SIGNIFICANCE = 0.05
NEGATION_REACH = 3  # the same reach as the backend's negation rule


@dataclass(frozen=True)
class LearnedToken:
    token: str
    valence: float  # -1..1
    messages: int  # labelled training messages it occurs in
    positive: int  # ... of which labelled positive by their emotes


def feature(token: Token) -> str | None:
    """The name a token is learned under: emotes as written, words lower-case, emoji as is."""
    if token.kind in ("emote", "emoji"):
        return token.text
    if token.kind == "word" and token.text not in NEGATIONS and token.text not in ENGLISH_STOP_WORDS:
        return token.text
    return None


def distant_label(tokens: Sequence[Token], emote_values: dict[str, float]) -> int | None:
    """1 / 0 for a message whose surveyed emotes are on average positive / negative, else None."""
    if any(t.text in SARCASM_MARKERS for t in tokens):
        return None
    values = [emote_values[t.text] for t in tokens if t.kind in ("emote", "emoticon") and t.text in emote_values]
    if not values:
        return None
    mean = sum(values) / len(values)
    return 1 if mean > LABEL_CUT else 0 if mean < -LABEL_CUT else None


def examples(messages: Iterable[ChatMessage], emote_values: dict[str, float]) -> list[tuple[frozenset[str], int]]:
    """(features without the labelling emotes, label) per distinct labelled message, in log order."""
    seen: set[tuple[frozenset[str], int]] = set()
    out: list[tuple[frozenset[str], int]] = []
    for message in messages:
        tokens = tokenize(message.text, message.emotes, emote_values)
        label = distant_label(tokens, emote_values)
        if label is None:
            continue
        names: set[str] = set()
        for i, token in enumerate(tokens):
            if token.text in emote_values and token.kind in ("emote", "emoticon"):
                continue  # the label itself
            if token.kind == "word" and any(t.text in NEGATIONS for t in tokens[max(0, i - NEGATION_REACH) : i]):
                continue
            name = feature(token)
            if name is not None:
                names.add(name)
        example = (frozenset(names), label)
        if names and example not in seen:
            seen.add(example)
            out.append(example)
    return out


def learn(data: Sequence[tuple[frozenset[str], int]], min_messages: int = MIN_MESSAGES) -> list[LearnedToken]:
    """Fit the logistic regression; one LearnedToken per token seen in >= min_messages examples
    whose share of positive messages differs from the overall share beyond chance."""
    from scipy.sparse import csr_matrix
    from scipy.stats import binomtest
    from sklearn.linear_model import LogisticRegression

    counts: dict[str, list[int]] = {}
    for names, label in data:
        for name in names:
            counts.setdefault(name, [0, 0])[label] += 1
    vocabulary = sorted(name for name, (neg, pos) in counts.items() if neg + pos >= min_messages)
    column = {name: j for j, name in enumerate(vocabulary)}
    rows, cols = [], []
    for i, (names, _) in enumerate(data):
        for name in sorted(names):
            if name in column:
                rows.append(i)
                cols.append(column[name])
    matrix = csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(len(data), len(vocabulary)))
    labels = [label for _, label in data]
    if len(set(labels)) < 2 or not vocabulary:
        raise ValueError("distant supervision needs messages of both polarities and a shared vocabulary")
    model = LogisticRegression(class_weight="balanced", max_iter=1000).fit(matrix, labels)
    base_rate = sum(labels) / len(labels)
    return [
        LearnedToken(name, math.tanh(float(coef) / 2.0), sum(counts[name]), counts[name][1])
        for name, coef in zip(vocabulary, model.coef_[0], strict=True)
        if binomtest(counts[name][1], sum(counts[name]), base_rate).pvalue < SIGNIFICANCE
    ]


def render(learned: Sequence[LearnedToken], known: set[str], trained_on: int, labelled: int, source: str) -> str:
    """The TSV text: provenance comments, a header, one shipped token per line (by token)."""
    lines = [
        "# Chat-word valences learned from emotes (distant supervision, Kobs et al. 2020).",
        "# Rebuild: python -m server.chat.sentiment.train_lexicon (deterministic; --check compares).",
        f"# Source: {source} ({trained_on} messages); {labelled} distinct messages labelled by their surveyed "
        f"emotes (mean beyond +-{LABEL_CUT}).",
        f"# Kept: tokens in >= {MIN_MESSAGES} labelled messages whose positive share differs from the overall "
        f"one (binomial test, p < {SIGNIFICANCE}) and that neither the emote table nor VADER knows.",
        "# valence = tanh(coef/2) of a class-balanced L2 logistic regression; messages = labelled messages "
        "with the token; positive = of which labelled positive.",
        "token\tvalence\tmessages\tpositive",
    ]
    for item in sorted(learned, key=lambda t: t.token):
        if item.token in known or item.token.lower() in known:
            continue
        lines.append(f"{item.token}\t{item.valence:.3f}\t{item.messages}\t{item.positive}")
    return "\n".join(lines) + "\n"


def build(logs: Sequence[Path] = ()) -> str:
    """Train on `logs` (all messages), or by default on the #xqcow log's training part; the table's text."""
    from server.chat.sentiment.lexicon import emote_table, vader_tables

    emote_values = emote_table()
    if logs:
        messages = [m for log in logs for m in read_chat_file(log).messages]
        source = ", ".join(log.name for log in logs) + ", all PRIVMSGs"
    else:
        messages = training_part(XQCOW_LOG)
        source = (
            f"server/demo/media/{XQCOW_LOG.name}, the first {TRAINING_SHARE:.0%} of its PRIVMSGs in time "
            "(the held-out rest is never read)"
        )
    data = examples(messages, emote_values)
    vader_words, _ = vader_tables()
    known = set(vader_words) | {name.lower() for name in emote_values} | set(emote_values)
    return render(learn(data), known, len(messages), len(data), source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.chat.sentiment.train_lexicon", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped table differs from a rebuild")
    parser.add_argument("--out", type=Path, default=LEARNED, help=f"where to write (default {LEARNED})")
    parser.add_argument(
        "--log",
        type=Path,
        action="append",
        default=[],
        help="learn from this recorded chat (IRC log or TwitchDownloader JSON; repeatable) "
        "instead of the #xqcow training part",
    )
    args = parser.parse_args(argv)
    if args.check and args.log:
        parser.error("--check compares the shipped table, which is built from the default log only")
    missing = [str(log) for log in args.log if not log.is_file()]
    if missing:
        parser.error(f"no such log: {', '.join(missing)}")
    try:
        text = build(args.log)
    except ValueError as exc:  # ChatLogError is one
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        same = LEARNED.read_text(encoding="utf-8") == text
        print(f"{LEARNED}: {'matches a rebuild' if same else 'DIFFERS from a rebuild'}")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    tokens = sum(1 for line in text.splitlines() if line and not line.startswith("#")) - 1
    print(f"wrote {args.out} ({tokens} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
