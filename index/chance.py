""" "Nothing found": whether the closest passage is any closer to a query than the closest
passages to queries the collection cannot be about.

A model's cosines have no fixed meaning: the plain multilingual-e5-small gives unrelated
text 0.8, the adapted one 0.4 (docs/adaptation.md), and a collection on one subject sits
closer to every question than a varied one. So the bar is measured, per model and per
collection: the queries below (small talk, household questions, keyboard mash, in the
three languages; nothing an encyclopedia, a law or a study could answer) are searched,
and the bar is the median of their closest passages' cosines, or their 90th percentile
for a query none of whose words occurs in any passage, in any language (``QUANTILES``: a
higher bar for every query flagged a quarter of the real questions in a collection of
laws and two thirds of KazQAD's, docs/answers.md). A query whose closest passage falls
below its bar is flagged; its results are still shown. The bars are kept until the
collection's size changes by a tenth, so their cost (a few dozen searches of one passage
each) is paid rarely. evaluation/data/unanswerable.jsonl holds other off-topic
questions, to measure the rule.
"""

from __future__ import annotations

import threading

import numpy as np

from .indexes import Indexes

UNRELATED = (
    "How do I bake a chocolate cake without eggs?",
    "thanks, that is all for today",
    "What is the best way to learn to play the guitar?",
    "can you hear me? test test",
    "How long should I boil an egg?",
    "What time does the next train leave?",
    "Tell me a joke about cats",
    "how to fix a leaking kitchen tap",
    "qwertyuiop zxcvbnm",
    "lol ok see you later",
    "good morning!",
    "what is your favourite colour?",
    "Как испечь шоколадный торт без яиц?",
    "спасибо, на сегодня всё",
    "Как научиться играть на гитаре?",
    "алло, слышно меня? тест тест",
    "Сколько минут варить яйцо вкрутую?",
    "Во сколько отправляется следующая электричка?",
    "расскажи анекдот про котов",
    "как починить протекающий кран на кухне",
    "йцукен фывапр",
    "ладно, пока, до связи",
    "доброе утро!",
    "какой твой любимый цвет?",
    "Жұмыртқасыз шоколад торты қалай пісіріледі?",
    "рахмет, бүгінге осы",
    "Гитарада ойнауды қалай үйренуге болады?",
    "алло, естіп тұрсың ба? тест тест",
    "Жұмыртқаны қанша минут қайнату керек?",
    "Келесі пойыз қашан жүреді?",
    "мысықтар туралы әзіл айтшы",
    "ас үйдегі ағып тұрған кранды қалай жөндеуге болады?",
    "ғқңөұү әіһ",
    "жарайды, кейін сөйлесерміз",
    "қайырлы таң!",
    "сенің сүйікті түсің қандай?",
)
QUANTILES = (0.5, 0.9)  # the bar for a query whose words the collection has, and for one
# none of whose words occurs in any passage ("zzzzqqq", "рецепт борща"), which needs more
REFRESH = 0.1  # the bars are measured again when the collection grows or shrinks by this share


class ChanceBar:
    """The cosines below which a query's closest passage is no closer than chance, for one
    model; measured again when the collection's size moves by ``REFRESH``."""

    def __init__(self, embedder):
        self.embedder = embedder
        self._vectors = embedder.embed(list(UNRELATED), "query")
        self._bars: tuple[int, tuple[float, float]] | None = None
        self._lock = threading.Lock()

    def bars(self, indexes: Indexes) -> tuple[float, float] | None:
        """(bar for a query with words in the collection, bar for one without)."""
        size = sum(indexes.sizes().values())
        if not size:
            return None
        with self._lock:
            if self._bars is None or abs(size - self._bars[0]) > REFRESH * self._bars[0]:
                low, high = np.quantile(self._closest(indexes), QUANTILES)
                self._bars = (size, (float(low), float(high)))
            return self._bars[1]

    def _closest(self, indexes: Indexes) -> np.ndarray:
        best = np.full(len(self._vectors), -1.0)
        for partition in indexes.partitions.values():
            if not len(partition):
                continue
            for row, vector in enumerate(self._vectors):
                found = partition.vectors.search(vector, 1, None)
                if found:
                    best[row] = max(best[row], found[0][1])
        return best
