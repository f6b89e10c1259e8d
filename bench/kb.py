"""Benchmark: knowledge-base search over 50,000 Chinese articles in a real (embedded)
PostgreSQL, through the code the API runs (hotline.kb: jieba words, the 'simple' tsvector
with its GIN index, ts_rank_cd).

    .venv/bin/python -m bench.kb                 # 50,000 articles, 2,000 searches
    .venv/bin/python -m bench.kb --quick         # 5,000 articles, 500 searches

The articles are generated from the utility's vocabulary (tariffs, outages, repairs, meters,
accounts, solar, charging...): a title of two or three terms and a body of five to nine
sentences (about 300 characters), each with a service type, a kind and an IVR step; they are
segmented in worker processes and bulk-loaded as published (queries.load_published, the same
search vector as publishing through the API). The searches are questions as agents type
them: one term, two or three terms in a sentence, or a long question; each is timed end to
end (segmentation in a worker thread, as the API does, and the SQL), one at a time on one
connection. Suggestions for a call (service type and IVR path) are timed the same way. The
last line is one JSON object: articles, search_p50_ms, search_p99_ms (target 50), ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from hotline.core.values import ServiceType
from hotline.devtools.embedded import EmbeddedPostgres
from hotline.kb import queries, service
from hotline.kb.model import ArticleKind
from hotline.kb.queries import Draft, Words
from hotline.store import db

TARGET_P99_MS = 50.0
TERMS = (
    "阶梯电价 峰谷电价 分时电价 居民电价 农业电价 基本电费 电费账单 预交电费 违约金 电费发票 "
    "欠费停电 计划停电 故障停电 临时停电 复电 送电 停电通知 抢修 线路故障 电压低 频繁停电 "
    "台区 供电所 变压器 电能表 智能电表 表计 抄表 电量 户号 过户 销户 新装 增容 减容 "
    "光伏并网 分布式光伏 充电桩 电动汽车 网上国网 供电营业厅 投诉 举报 表扬 意见建议 "
    "敏感诉求 重复来电 越级投诉 服务忌语 安抚 解释 致歉 回访 工单 时限 催办 核实 "
    "医院 学校 养老院 高考 暴雨 台风 高温 冰冻 疫情 低保 五保户 残疾人 独居老人 "
    "缴费 退费 补费 账户余额 银行代扣 微信 支付宝 发票 电价政策 政府定价 用电性质 "
    "商业用电 工业用电 居民生活 合表用户 一户多人口 峰时段 谷时段 跨年 结算"
).split()
FILLERS = ("请问", "我想知道", "为什么", "怎么办", "如何", "多久", "是不是", "能不能", "哪里",
           "需要", "可以", "已经", "一直", "还是", "应该")
SENTENCES = (
    "{a}的办理需要携带身份证和{b}相关材料。", "客户来电反映{a}，坐席应先{b}再登记工单。",
    "如遇{a}，请告知客户{b}的处理时限。", "{a}期间不得向客户承诺{b}的具体时间。",
    "按照规定，{a}与{b}分别计算。", "{a}可通过网上国网或供电营业厅办理，{b}另行通知。",
    "对于{a}的客户，应优先安排{b}。", "{a}发生后，{b}人员须在规定时间内到达现场。",
    "{a}的标准由政府价格主管部门制定，{b}按月结算。", "客户对{a}有异议时，可申请{b}。",
)


def article(rng: random.Random) -> Draft:
    terms = rng.sample(TERMS, 3)
    title = "".join(terms[: rng.choice((2, 3))]) + rng.choice(("说明", "话术", "规定", "流程",
                                                               "常见问题", "口径"))
    body = "".join(rng.choice(SENTENCES).format(a=rng.choice(TERMS), b=rng.choice(TERMS))
                   for _ in range(rng.randint(5, 9)))
    svc = rng.choice([s.value for s in ServiceType] + [""])
    return Draft(title, body, svc, rng.choice(list(ArticleKind)), tuple(rng.sample(TERMS, 2)),
                 (f"main={rng.randint(0, 9)}",))


def _segment(drafts: list[Draft]) -> list[Words]:
    return [service.words_of(d) for d in drafts]


def question(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return rng.choice(TERMS)
    if kind < 0.8:
        a, b, c = rng.sample(TERMS, 3)
        return rng.choice(FILLERS) + a + ("" if rng.random() < 0.5 else rng.choice(FILLERS) + b) \
            + ("" if rng.random() < 0.7 else c)
    return "".join(rng.choice(FILLERS) + t for t in rng.sample(TERMS, rng.randint(4, 6))) + "？"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def run(n: int, searches: int, base: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    drafts = [article(rng) for _ in range(n)]
    started = time.perf_counter()
    chunks = [drafts[i:i + 2_000] for i in range(0, n, 2_000)]
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        words = [w for ws in pool.map(_segment, chunks) for w in ws]
    segment_s = time.perf_counter() - started
    server = EmbeddedPostgres(base / "pg" / "cluster")
    server.start()
    try:
        conn = await db.connect(server.url)
        await db.migrate(conn)
        started = time.perf_counter()
        rows = list(zip(drafts, words, strict=True))
        for i in range(0, n, 5_000):
            await queries.load_published(conn, rows[i:i + 5_000], "bench", time.time())
        await conn.execute("ANALYZE kb_articles")
        load_s = time.perf_counter() - started
        assert await conn.fetchval("SELECT count(*) FROM kb_articles"
                                   " WHERE state = 'published'") == n
        questions = [question(rng) for _ in range(searches)]
        for q in questions[:50]:  # warm-up: caches, the plan, jieba in this process
            await service.search(conn, q)
        times, found = [], 0
        for q in questions:
            t = time.perf_counter()
            hits = await service.search(conn, q)
            times.append((time.perf_counter() - t) * 1e3)
            found += bool(hits)
        suggest_times = []
        for _ in range(searches // 2):
            path = ["language=1", f"main={rng.randint(0, 9)}"]
            t = time.perf_counter()
            await service.suggest(conn, rng.choice(list(ServiceType)).value, path)
            suggest_times.append((time.perf_counter() - t) * 1e3)
        await conn.close()
    finally:
        server.stop()
    return {
        "articles": n, "searches": searches, "found_share": round(found / searches, 3),
        "search_p50_ms": round(pct(times, 50), 2), "search_p99_ms": round(pct(times, 99), 2),
        "search_max_ms": round(max(times), 2),
        "suggest_p50_ms": round(pct(suggest_times, 50), 2),
        "suggest_p99_ms": round(pct(suggest_times, 99), 2),
        "target_p99_ms": TARGET_P99_MS, "met": pct(times, 99) <= TARGET_P99_MS,
        "segment_s": round(segment_s, 1), "load_s": round(load_s, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 articles, 500 searches")
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    n, searches = (5_000, 500) if args.quick else (args.articles, args.searches)
    base = Path(tempfile.mkdtemp(prefix="hotline-bench-kb-"))
    base.chmod(0o711)  # the PostgreSQL service user must traverse it when run as root
    try:
        f = asyncio.run(run(n, searches, base, args.seed))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{f['articles']:,} published articles: segmented in {f['segment_s']} s, "
          f"loaded and indexed in {f['load_s']} s")
    print(f"  {f['searches']:,} searches (jieba + GIN + ts_rank_cd, end to end): "
          f"p50 {f['search_p50_ms']} ms, p99 {f['search_p99_ms']} ms "
          f"(target {TARGET_P99_MS:g} ms: {'met' if f['met'] else 'NOT met'}), "
          f"max {f['search_max_ms']} ms; {f['found_share']:.0%} found something")
    print(f"  suggestions for a call: p50 {f['suggest_p50_ms']} ms, "
          f"p99 {f['suggest_p99_ms']} ms; load average {f['load_average']}")
    print(json.dumps(f))


if __name__ == "__main__":
    main()
