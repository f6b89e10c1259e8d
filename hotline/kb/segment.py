"""Chinese word segmentation for the knowledge base's search: jieba (PyPI), its search mode
(long words also yield their shorter words: 阶梯电价 -> 阶梯, 电价, 阶梯电价), plus the utility's
own terms. Articles are segmented when they are published and queries when they are asked;
PostgreSQL then matches the words with its 'simple' text-search configuration (no parser of
its own for Chinese: docs/knowledge-base.md, "Search")."""

from __future__ import annotations

import logging
import re
import threading

import jieba

#: Terms of the trade jieba's dictionary lacks or splits badly (kept whole, and searchable by
#: their parts through the search mode).
DOMAIN_WORDS = (
    "阶梯电价", "峰谷电价", "分时电价", "基本电费", "力调电费", "居民电价", "农业电价",
    "欠费停电", "计划停电", "故障停电", "临时停电", "复电", "送电", "停电通知", "抢修",
    "户号", "电能表", "电表", "智能电表", "表计", "光伏并网", "分布式光伏", "充电桩",
    "电动汽车", "增容", "减容", "过户", "销户", "新装", "峰谷", "电费账单", "预交电费",
    "违约金", "电费发票", "供电营业厅", "网上国网", "95598", "服务忌语", "敏感诉求",
    "重复来电", "越级投诉", "频繁停电", "电压低", "线路故障", "台区", "供电所",
)
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 是 在 和 与 及 或 我 你 他 她 它 我们 你们 这 那 有 就 都 也 还 要 会 能 "
    "怎么 怎样 如何 什么 为什么 请问 一下 一个 可以 没有 不 被 把 给 对 从 到 为 以 之 其 "
    "已经 还是 想 我想 知道 需要 一直 应该 能不能 是不是 哪里 请 您 该 得 着 过".split())
_WORD = re.compile(r"[^\W_]+")  # what PostgreSQL's parser keeps as one word: no punctuation
_ready = threading.Lock()
_initialised = False


def _init() -> None:
    global _initialised
    with _ready:
        if not _initialised:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            for word in DOMAIN_WORDS:
                jieba.add_word(word, freq=20_000)
            _initialised = True


def ready() -> bool:
    """Whether the dictionary is loaded (segmenting is then quick)."""
    return _initialised


def warm() -> None:
    """Loads the dictionary in a thread of its own (about a second of CPU, more on a busy
    machine), so the API's first search or publish does not wait for it."""
    if not _initialised:
        threading.Thread(target=_init, name="kb-segment-warm", daemon=True).start()


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, without punctuation and stop words, in order (a word
    may repeat: the search mode adds a long word's parts after it)."""
    if not _initialised:
        _init()
    out = []
    for token in jieba.cut_for_search(text):
        for w in _WORD.findall(token.lower()):
            if w not in STOPWORDS:
                out.append(w)
    return out


def segmented(text: str) -> str:
    """`words` joined by spaces: what to_tsvector('simple', ...) reads back as those words."""
    return " ".join(words(text))


def query_words(text: str, limit: int = 16) -> list[str]:
    """The distinct words of a query, first `limit` (a query is a question, not an essay)."""
    return list(dict.fromkeys(words(text)))[:limit]


__all__ = ["DOMAIN_WORDS", "STOPWORDS", "query_words", "ready", "segmented", "warm", "words"]
