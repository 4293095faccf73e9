"""The lexicon and a transformers model together: emotes decide where present, else the model.

On Twitch the feeling of a message is mostly in its emotes (Kobs et al. 2020: lexicons built for
English fail on chat, an emote lexicon does much better), and a model trained on tweets reads
`PogU` or `monkaW` as unknown word pieces. So a message whose emotes carry sentiment is read by
the lexicon (its whole reading: emotes, words, negation, sarcasm), and only the others (plain words: "that was insane", "he is so bad") go to the
model. That also means the model classifies fewer messages, which matters on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from server.chat.sentiment import ChatText, Sentiment, SentimentBackend
from server.chat.sentiment.lexicon import LexiconSentiment, shared_lexicon

ModelClassify = Callable[[Sequence[ChatText]], list[Sentiment]]


def combine(messages: Sequence[ChatText], lexicon: LexiconSentiment, model: ModelClassify) -> list[Sentiment]:
    """One Sentiment per message: the lexicon's where emotes decide, the model's for the rest.

    `model` is called once, with only the messages the emotes do not decide (not at all if none).
    """
    results = lexicon.classify(messages)
    rest = [i for i, m in enumerate(messages) if not lexicon.emote_decides(m.text, m.emotes)]
    if rest:
        for i, sentiment in zip(rest, model([messages[i] for i in rest]), strict=True):
            results[i] = sentiment
    return results


class EnsembleSentiment:
    """A backend (`CHAT_SENTIMENT_BACKEND = "ensemble"`): `combine` over a loaded model backend."""

    name = "ensemble"

    def __init__(self, model: SentimentBackend, lexicon: LexiconSentiment | None = None) -> None:
        self.model = model
        self.lexicon = lexicon or shared_lexicon()

    def classify(self, messages: Sequence[ChatText]) -> list[Sentiment]:
        return combine(messages, self.lexicon, self.model.classify)
