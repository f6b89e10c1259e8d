"""The sans-I/O AMI codec: framing, greeting, splits, headers, limits and bad bytes."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core_ext import ami_parse_py
from hotline.core_ext.select import PURE_ENV, is_compiled, load, load_compiled
from hotline.telephony.ami import codec as ami_codec
from hotline.telephony.ami.codec import AmiCodec, AmiMessage, BadHeader, MissingHeader

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
GREETING = b"Asterisk Call Manager/9.0.0\r\n"
LOGIN_OK = b"Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"
HANGUP = (
    b"Event: Hangup\r\nPrivilege: call,all\r\nTimestamp: 1700000000.500000\r\n"
    b"Channel: PJSIP/caller-00000001\r\nUniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n"
    b"Cause: 16\r\nCause-txt: Normal Clearing\r\n\r\n"
)


KERNELS = {"c": lambda: load_compiled("ami_parse"), "py": lambda: ami_parse_py}


@pytest.fixture(params=["c", "py"], autouse=True)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Every codec test runs on the compiled splitter and on its pure-Python twin."""
    chosen = KERNELS[request.param]()
    monkeypatch.setattr(ami_codec, "load_kernel", lambda _name: chosen)
    monkeypatch.setattr(ami_codec, "_header_value", chosen.header_value)
    return chosen


def test_compiled_splitter_loaded() -> None:
    assert is_compiled(load_compiled("ami_parse")), "build it: setup.py build_ext --inplace"


def test_codec_uses_the_selected_kernel(kernel: ModuleType) -> None:
    assert AmiCodec().kernel is kernel
    assert AmiCodec(kernel=ami_parse_py).kernel is ami_parse_py


def test_default_kernel_is_the_compiled_one_unless_pure_python_is_forced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ami_codec, "load_kernel", load)
    monkeypatch.delenv(PURE_ENV, raising=False)
    assert is_compiled(AmiCodec().kernel)
    monkeypatch.setenv(PURE_ENV, "1")
    assert AmiCodec().kernel is ami_parse_py


def texts(msgs: list[AmiMessage]) -> list[str]:
    return [m.text for m in msgs]


def feed_whole(data: bytes) -> tuple[AmiCodec, list[AmiMessage]]:
    codec = AmiCodec()
    return codec, codec.feed(data)


def feed_bytewise(data: bytes) -> tuple[AmiCodec, list[AmiMessage]]:
    codec = AmiCodec()
    out: list[AmiMessage] = []
    for i in range(len(data)):
        out += codec.feed(data[i : i + 1])
    return codec, out


def transcript() -> bytes:
    return (FIXTURES / "answered.txt").read_bytes()


# -- three ways to feed the same bytes (h11's test_io) ----------------------------------------


def test_whole_and_bytewise_give_the_same_messages() -> None:
    data = transcript()
    whole_codec, whole = feed_whole(data)
    byte_codec, bytewise = feed_bytewise(data)
    assert len(whole) == data.count(b"\r\n\r\n") > 30
    assert texts(whole) == texts(bytewise)
    assert whole_codec.version == byte_codec.version == "9.0.0"
    assert whole_codec.buffered == byte_codec.buffered == 0


def test_trailing_partial_message_is_kept_for_the_next_read() -> None:
    data = transcript()
    _, expected = feed_whole(data)
    partial = HANGUP[:57]
    codec = AmiCodec()
    got = codec.feed(data + partial)
    assert texts(got) == texts(expected)
    assert codec.buffered == len(partial)
    rest = codec.feed(HANGUP[57:])
    assert [m.name for m in rest] == ["Hangup"]
    assert rest[0]["Cause-txt"] == "Normal Clearing"
    assert codec.buffered == 0


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5, 30, len(GREETING) - 1, len(GREETING) + 1])
def test_split_anywhere_near_greeting_and_terminators(cut: int) -> None:
    data = GREETING + LOGIN_OK + HANGUP
    codec = AmiCodec()
    msgs = codec.feed(data[:cut]) + codec.feed(data[cut:])
    assert codec.version == "9.0.0"
    assert [m.is_response for m in msgs] == [True, False]
    assert texts(msgs) == texts(feed_whole(data)[1])


# -- greeting --------------------------------------------------------------------------------


def test_greeting_is_not_a_message() -> None:
    codec, msgs = feed_whole(GREETING)
    assert msgs == [] and codec.version == "9.0.0" and codec.stats.messages == 0


def test_stream_without_greeting_parses_right_away() -> None:
    codec, msgs = feed_whole(HANGUP)
    assert codec.version is None
    assert [m.name for m in msgs] == ["Hangup"]


def test_oversize_greeting_line_is_dropped_and_counted() -> None:
    codec = AmiCodec(max_message=len(HANGUP))
    data = b"Asterisk Call Manager/" + b"9" * 2000 + b"\r\n" + HANGUP
    msgs = codec.feed(data[:100]) + codec.feed(data[100:])
    assert [m.name for m in msgs] == ["Hangup"]
    assert codec.version is None and codec.stats.oversize == 1


# -- responses and events --------------------------------------------------------------------


def test_feed_split_separates_responses_with_their_action_id() -> None:
    error = b"Response: Error\r\nActionID: a2\r\nMessage: Permission denied\r\n\r\n"
    codec = AmiCodec()
    events, responses = codec.feed_split(GREETING + LOGIN_OK + HANGUP + error)
    assert [m.name for m in events] == ["Hangup"]
    assert [(r["Response"], r.action_id) for r in responses] == [
        ("Success", "a1"),
        ("Error", "a2"),
    ]
    assert codec.stats.responses == 2 and codec.stats.events == 1
    assert responses[0].is_response and not responses[0].is_event
    assert events[0].is_event and events[0].action_id is None


def test_event_name_found_when_event_is_not_the_first_header() -> None:
    codec, msgs = feed_whole(b"Privilege: call,all\r\nEvent: Hold\r\nLinkedid: 1.1\r\n\r\n")
    assert msgs[0].name == "Hold" and codec.stats.events == 1


def test_message_with_neither_event_nor_response_is_counted_as_other() -> None:
    codec, msgs = feed_whole(b"Foo: bar\r\n\r\n")
    assert len(msgs) == 1 and msgs[0].name == "" and codec.stats.others == 1


def test_blank_lines_between_messages_are_counted_not_messages() -> None:
    codec, msgs = feed_whole(HANGUP + b"\r\n\r\n" + HANGUP + b"\r\n" + HANGUP)
    assert [m.name for m in msgs] == ["Hangup"] * 3
    assert codec.stats.empty_blocks == 1


# -- header access ---------------------------------------------------------------------------


def test_header_access_typed_and_case_insensitive() -> None:
    msg = feed_whole(HANGUP)[1][0]
    assert msg["Linkedid"] == msg["linkedid"] == msg.get("LINKEDID") == "1700000000.1"
    assert msg.get_int("Cause") == 16
    assert msg.get_float("Timestamp") == 1700000000.5
    assert msg.get("Nope") is None and msg.get("Nope", "x") == "x"
    assert "Cause" in msg and "cause-TXT" in msg and "Nope" not in msg
    assert len(msg) == 8 and next(iter(msg)) == "Event"
    assert dict(msg)["Channel"] == "PJSIP/caller-00000001"


def test_missing_header_is_an_error_not_an_empty_string() -> None:
    msg = AmiMessage.from_headers([("Event", "Hangup"), ("AccountCode", ""), ("Cause", "x")])
    with pytest.raises(MissingHeader) as exc:
        msg["Linkedid"]
    assert exc.value.key == "Linkedid" and "Hangup" in str(exc.value)
    assert msg["AccountCode"] == ""  # present but empty is not missing ...
    with pytest.raises(MissingHeader):
        msg.get_str("AccountCode")  # ... unless the consumer requires a value
    with pytest.raises(BadHeader):
        msg.get_int("Cause")
    assert msg.get_int("Missing", 7) == 7
    with pytest.raises(MissingHeader):
        msg.get_float("Missing")


def test_repeated_headers_and_channel_variables() -> None:
    msg = AmiMessage.from_headers(
        [
            ("Event", "Newchannel"),
            ("ChanVariable", "HL_CALLID=1700000000.1"),
            ("ChanVariable", "HL_RECORDING=/rec/a=b.wav"),
            ("Output", "line one"),
            ("Output", "line two"),
        ]
    )
    assert msg["ChanVariable"] == "HL_CALLID=1700000000.1"  # the first value
    assert msg.getall("Output") == ("line one", "line two")
    assert msg.getall("chanvariable")[1] == "HL_RECORDING=/rec/a=b.wav"
    assert msg.variables() == {"HL_CALLID": "1700000000.1", "HL_RECORDING": "/rec/a=b.wav"}
    assert msg.getall("Nope") == () and msg.variables("Nope") == {}


def test_header_lines_without_space_colons_in_values_and_loose_lines() -> None:
    msg = AmiMessage(
        "Event: X\r\nEmpty:\r\nTight:value\r\nMessage: a: b: c\r\n--END COMMAND--\r\n:orphan"
    )
    assert msg["Empty"] == "" and msg["Tight"] == "value"
    assert msg["Message"] == "a: b: c"
    assert msg.loose_lines == ("--END COMMAND--", ":orphan")
    assert msg.headers == {"Event": "X", "Empty": "", "Tight": "value", "Message": "a: b: c"}


def test_lookup_agrees_with_the_full_parse() -> None:
    for msg in feed_whole(transcript())[1]:
        fresh = AmiMessage(msg.text)
        for key, value in msg.headers.items():
            assert fresh.get(key) == value, key


def test_messages_are_immutable_and_comparable() -> None:
    a, b = AmiMessage("Event: A\r\nX: 1"), AmiMessage("Event: A\r\nX: 1")
    assert a == b and hash(a) == hash(b) and a != AmiMessage("Event: B")
    with pytest.raises(TypeError):
        a["X"] = "2"  # type: ignore[index]
    assert "AmiMessage(" in repr(a)


# -- limits and bad bytes --------------------------------------------------------------------


def test_oversize_message_dropped_whole_or_streamed_and_stream_resyncs() -> None:
    big = b"Event: Big\r\n" + b"X: " + b"y" * 5000 + b"\r\n\r\n"
    data = HANGUP + big + HANGUP
    for reads in ([data], [data[i : i + 7] for i in range(0, len(data), 7)]):
        codec = AmiCodec(max_message=1024)
        msgs = [m for r in reads for m in codec.feed(r)]
        assert [m.name for m in msgs] == ["Hangup", "Hangup"]
        assert codec.stats.oversize == 1 and codec.stats.oversize_bytes >= 5000
        assert codec.buffered < 1024


def test_message_exactly_at_the_limit_is_kept_when_split_before_its_terminator() -> None:
    limit = len(HANGUP) - 4
    codec = AmiCodec(max_message=limit)
    msgs = codec.feed(HANGUP[:-1]) + codec.feed(HANGUP[-1:])
    assert [m.name for m in msgs] == ["Hangup"] and codec.stats.oversize == 0


def test_non_utf8_bytes_are_replaced_and_counted() -> None:
    bad = b"Event: UserEvent\r\nCaller: \xff\xfe13900\r\nLinkedid: 1.1\r\n\r\n"
    codec, msgs = feed_whole(bad + HANGUP)
    assert codec.stats.decode_errors == 1
    assert msgs[0]["Caller"] == "\ufffd\ufffd13900"
    assert msgs[1]["Cause"] == "16"


def test_multibyte_utf8_split_across_reads_is_not_an_error() -> None:
    data = "Event: UserEvent\r\nCallerIDName: 张三\r\n\r\n".encode()
    cut = data.index("张".encode()) + 1  # inside the character
    codec = AmiCodec()
    msgs = codec.feed(data[:cut]) + codec.feed(data[cut:])
    assert msgs[0]["CallerIDName"] == "张三" and codec.stats.decode_errors == 0


_KEYS = st.sampled_from(["Event", "ActionID", "Linkedid", "linkedid", "LINKEDID", "Timestamp",
                         "Cause-txt", "Channel", "ΑΣ", "Key With Space", "a:b", ""])


@given(pairs=st.lists(st.tuples(_KEYS, st.text(max_size=8).map(lambda v: v.replace("\r", "")
                                                              .replace("\n", ""))),
                      max_size=6),
       key=_KEYS | st.text(max_size=6))
def test_lookup_of_any_key_agrees_with_the_parsed_headers(
        pairs: list[tuple[str, str]], key: str) -> None:
    """Exact case first, then any case, absent ones None: the cheap miss (no parse when the
    folded text cannot hold the key) answers as the parsed dict does."""
    text = "\r\n".join(f"{k}: {v}" for k, v in pairs)
    headers = AmiMessage(text).headers
    lower = {k.lower(): k for k in headers}
    expected = headers[key] if key in headers else headers.get(lower.get(key.lower(), ""))
    if key not in headers and key.lower() not in lower:
        expected = None
    assert AmiMessage(text).get(key) == expected


def test_missing_header_lookup_does_not_parse_the_message() -> None:
    msg = feed_whole(HANGUP)[1][0]
    assert msg.get("ActionID") is None and msg.get("actionid", "-") == "-"
    assert msg._headers is None  # answered from the folded text, no dict built
    assert msg.get("LINKEDID") == "1700000000.1"  # a case-insensitive hit still parses
