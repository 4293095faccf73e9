"""Build a tiny 3-class sentiment model folder, for tests and the benchmark.

Real weights cannot be downloaded on the project's machines, so the transformers backend is
exercised with a model made here: a word-level tokenizer over a small vocabulary and a 1-layer
BERT, trained for a few dozen steps to tell "good"-like from "bad"-like messages. It is saved
with `save_pretrained` and loaded back through the same code path as a real model folder.
"""

from __future__ import annotations

from pathlib import Path

POSITIVE_WORDS = ["good", "great", "love", "pog", "win", "nice"]
NEGATIVE_WORDS = ["bad", "sad", "hate", "lose", "awful", "trash"]
NEUTRAL_WORDS = ["the", "is", "game", "chat", "what", "he"]
LABEL_NAMES = {0: "negative", 1: "neutral", 2: "positive"}


def build_tiny_model(folder: Path, steps: int = 60, seed: int = 0, anonymous_labels: bool = False) -> Path:
    """Train and save the tiny model into `folder`; return it. Takes about a second on a CPU."""
    import torch

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only fight over a busy machine's cores
    try:
        return _build(folder, steps, anonymous_labels)
    finally:
        torch.set_num_threads(threads)


def _build(folder: Path, steps: int, anonymous_labels: bool) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {token: i for i, token in enumerate(specials + POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    labels = {i: f"LABEL_{i}" for i in LABEL_NAMES} if anonymous_labels else LABEL_NAMES
    config = BertConfig(  # type: ignore[call-arg]  # num_labels is a PretrainedConfig **kwarg
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = BertForSequenceClassification(config)
    texts, targets = _examples()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = model(**batch, labels=torch.tensor(targets)).loss
        loss.backward()
        optimiser.step()
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _examples() -> tuple[list[str], list[int]]:
    texts: list[str] = []
    targets: list[int] = []
    for label, words in ((2, POSITIVE_WORDS), (0, NEGATIVE_WORDS), (1, NEUTRAL_WORDS)):
        for word in words:
            for filler in NEUTRAL_WORDS[:3]:
                texts += [word, f"{filler} {word}", f"{word} {word}"]
                targets += [label, label, label]
    return texts, targets
