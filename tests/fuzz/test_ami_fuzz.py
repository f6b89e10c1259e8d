"""Property tests: the ingest path never raises on any bytes and accounts for what it drops."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.core_ext import ami_parse_py
from hotline.core_ext.select import load_compiled
from hotline.telephony.ami.call_model import CallModel
from hotline.telephony.ami.codec import AmiCodec, AmiMessage
from hotline.telephony.ami.mapper import EventMapper

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
TRANSCRIPTS = {p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.txt"))}
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that make random bytes look like AMI often enough to reach the interesting paths.
TOKENS = [
    b"\r\n",
    b"\r\n\r\n",
    b"\r",
    b"\n",
    b":",
    b": ",
    b"Event: ",
    b"Response: Success",
    b"ActionID: 7",
    b"Asterisk Call Manager/",
    b"9.0.0",
    b"UserEvent",
    b"HotlineQueued",
    b"Hangup",
    b"DialEnd",
    b"DialBegin",
    b"Linkedid: 1.1",
    b"Uniqueid: 1.1",
    b"Cause: ",
    b"DestChannel: PJSIP/a-1",
    b"Timestamp: ",
    b"1700000000.5",
    b"\xff",
    b"\xe5\xbc",
    b"x",
]
amiish = st.lists(st.one_of(st.sampled_from(TOKENS), st.binary(max_size=12)), max_size=80).map(
    b"".join
)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def feed_reads(codec: AmiCodec, reads: list[bytes]) -> list[AmiMessage]:
    return [m for r in reads for m in codec.feed(r)]


@FUZZ
@given(data=st.one_of(amiish, st.binary(max_size=400)), cuts=st.lists(st.integers(0, 10_000)))
def test_codec_never_raises_and_any_split_gives_the_same_messages(
    data: bytes, cuts: list[int]
) -> None:
    whole = AmiCodec(max_message=256)
    expected = whole.feed(data)
    split = AmiCodec(max_message=256)
    got = feed_reads(split, split_at(data, cuts))
    assert [m.text for m in got] == [m.text for m in expected]
    assert split.version == whole.version
    for codec, msgs in ((whole, expected), (split, got)):
        s = codec.stats
        assert s.messages == len(msgs) == s.events + s.responses + s.others
        assert s.decode_errors <= s.messages + s.oversize
    assert whole.stats.oversize == split.stats.oversize


@FUZZ
@given(data=st.one_of(amiish, st.binary(max_size=400)))
def test_mapper_never_raises_and_counts_every_message(data: bytes) -> None:
    msgs = AmiCodec().feed(data + b"\r\n\r\n")
    mapper = EventMapper("pbx1", clock=lambda: 0.0)
    events = mapper.map_all(msgs)
    assert mapper.stats.seen == len(msgs)
    assert mapper.stats.mapped == len(events)
    CallModel().apply_all(events)  # whatever got through, the model takes without raising


@st.composite
def mutated_transcript(draw: st.DrawFn) -> bytes:
    data = bytearray(TRANSCRIPTS[draw(st.sampled_from(sorted(TRANSCRIPTS)))])
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]))
        i = draw(st.integers(0, len(data)))
        if kind == "flip" and i < len(data):
            data[i] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[i:i] = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=9)))
        elif kind == "duplicate":
            n = draw(st.integers(1, 2000))
            data[i:i] = data[i : i + n]
        else:
            data = data[:i]
    return bytes(data)


@FUZZ
@given(data=mutated_transcript(), cuts=st.lists(st.integers(0, 100_000), max_size=30))
def test_mutated_transcripts_flow_through_the_whole_path(data: bytes, cuts: list[int]) -> None:
    codec, mapper, model = AmiCodec(), EventMapper("pbx1", clock=lambda: 0.0), CallModel()
    events_seen = 0
    for read in split_at(data, cuts):
        events, responses = codec.feed_split(read)
        events_seen += len(events)
        model.apply_all(mapper.map_all(events))
        assert all(not m.name for m in responses)
    assert mapper.stats.seen == events_seen
    s = mapper.stats
    assert s.mapped + s.ignored.total() + s.unknown.total() + s.malformed.total() == events_seen


# Keys: no colon, no CR/LF, no surrounding blanks; values: anything but CR/LF.
header_key = st.text("AaBbZz09-_.张 ", min_size=1, max_size=8).filter(lambda k: k.strip() == k)
header_value = st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)))


@FUZZ
@given(pairs=st.lists(st.tuples(header_key, header_value), min_size=1, max_size=12))
def test_lookup_and_full_parse_agree_on_any_headers(pairs: list[tuple[str, str]]) -> None:
    msg = AmiMessage.from_headers(pairs)
    first: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for k, v in pairs:
        first.setdefault(k, v)  # from_headers writes "k: v": the one space is the separator's
        every.setdefault(k, []).append(v)
    assert msg.headers == first
    for k, v in first.items():
        assert AmiMessage(msg.text).get(k) == v  # text search, before any parse
        assert msg[k] == v
        assert msg.getall(k) == tuple(every[k])


@FUZZ
@given(
    bodies=st.lists(
        st.tuples(st.text("abcdefghij0123456789 ", max_size=30), st.booleans()),
        min_size=1,
        max_size=20,
    ),
    cuts=st.lists(st.integers(0, 5000), max_size=10),
)
def test_each_non_utf8_message_is_counted_once(
    bodies: list[tuple[str, bool]], cuts: list[int]
) -> None:
    data = b"".join(
        b"Event: UserEvent\r\nNote: " + body.encode() + (b"\xff\xfe" if bad else b"") + b"\r\n\r\n"
        for body, bad in bodies
    )
    codec = AmiCodec()
    msgs = feed_reads(codec, split_at(data, cuts))
    assert len(msgs) == len(bodies)
    assert codec.stats.decode_errors == sum(bad for _, bad in bodies)
    assert [m["Note"].endswith("\ufffd\ufffd") for m in msgs] == [bad for _, bad in bodies]


@FUZZ
@given(data=st.one_of(amiish, st.binary(max_size=400)), limit=st.integers(0, 300))
def test_compiled_and_pure_splitters_agree(data: bytes, limit: int) -> None:
    compiled = load_compiled("ami_parse")
    assert compiled.split_messages(data, limit) == ami_parse_py.split_messages(data, limit)


@FUZZ
@given(data=mutated_transcript(), cuts=st.lists(st.integers(0, 100_000), max_size=20))
def test_codecs_on_either_kernel_agree(data: bytes, cuts: list[int]) -> None:
    c, py = AmiCodec(kernel=load_compiled("ami_parse")), AmiCodec(kernel=ami_parse_py)
    for read in split_at(data, cuts):
        assert [m.text for m in c.feed(read)] == [m.text for m in py.feed(read)]
    assert c.stats == py.stats and c.buffered == py.buffered


TEXT_PIECES = ["\r\n", ":", " ", "Key", "K", "ey", "x", "\r", "张"]


@FUZZ
@given(
    text=st.one_of(
        amiish.map(lambda b: b.decode("utf-8", "replace")),
        st.lists(st.sampled_from(TEXT_PIECES), max_size=30).map("".join),
    ),
    key=st.one_of(st.sampled_from(["Key", "K", "Event", "Linkedid", "", ":", "a\r\nb"]), st.text()),
)
def test_compiled_and_pure_header_lookups_agree(text: str, key: str) -> None:
    compiled = load_compiled("ami_parse")
    assert compiled.header_value(text, key) == ami_parse_py.header_value(text, key)
