# cython: language_level=3
"""AMI message splitter, compiled: the same interface and results as ami_parse_py.py.

The per-read hot loop of the AMI codec: terminators found with memmem over the read buffer,
each message decoded straight from the buffer (no intermediate bytes object), the event name
taken when Event is the first header.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcmp

cdef extern from "string.h":
    # GNU extension; Python.h defines _GNU_SOURCE before string.h is read.
    void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen)

EVENTS = 0
RESPONSES = 1
DECODE_ERRORS = 2
EMPTY_BLOCKS = 3
OVERSIZE = 4
OVERSIZE_BYTES = 5
N_COUNTS = 6


def split_messages(bytes buf not None, Py_ssize_t max_message):
    """(messages, consumed, counts) for the complete messages in `buf`; see ami_parse_py."""
    cdef const char *base = PyBytes_AS_STRING(buf)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(buf)
    cdef Py_ssize_t pos = 0, start, end, size, eol
    cdef const char *hit
    cdef list out = []
    cdef Py_ssize_t events = 0, responses = 0, decode_errors = 0, empty = 0
    cdef Py_ssize_t oversize = 0, oversize_bytes = 0
    cdef str text
    cdef object name
    while n - pos >= 4:
        hit = <const char *>memmem(base + pos, <size_t>(n - pos), b"\r\n\r\n", 4)
        if hit == NULL:
            break
        end = hit - base
        start = pos
        pos = end + 4
        size = end - start
        if size == 0:
            empty += 1
            continue
        if size > max_message:
            oversize += 1
            oversize_bytes += size
            continue
        if size >= 2 and base[start] == b'\r' and base[start + 1] == b'\n':
            while start < end and (base[start] == b'\r' or base[start] == b'\n'):
                start += 1
            if start == end:
                empty += 1
                continue
        try:
            text = PyUnicode_DecodeUTF8(<char *>(base + start), end - start, NULL)
        except UnicodeDecodeError:
            decode_errors += 1
            text = PyUnicode_DecodeUTF8(<char *>(base + start), end - start, "replace")
        if end - start >= 7 and memcmp(base + start, b"Event: ", 7) == 0:
            eol = text.find("\r\n", 7)
            name = text[7:eol] if eol >= 0 else text[7:]
            events += 1
        elif end - start >= 9 and memcmp(base + start, b"Response:", 9) == 0:
            name = ""
            responses += 1
        else:
            name = None
        out.append((name, text))
    return out, pos, [events, responses, decode_errors, empty, oversize, oversize_bytes]


cdef dict _needles = {}  # key -> ("key:", "\r\nkey:"): the few keys consumers ask for


def header_value(str text not None, str key not None):
    """The first value of header `key` in `text`, or None; see ami_parse_py."""
    cdef Py_ssize_t start, end
    cdef tuple needles = _needles.get(key)
    if needles is None:
        if ":" in key or "\n" in key or "\r" in key:
            return None
        needles = (key + ":", "\r\n" + key + ":")
        if len(_needles) < 1024:  # keys come from code; a stream of odd ones is not kept
            _needles[key] = needles
    if text.startswith(<str>needles[0]):
        start = len(<str>needles[0])
    else:
        start = text.find(<str>needles[1])
        if start < 0:
            return None
        start += len(<str>needles[1])
    end = text.find("\r\n", start)
    if end < 0:
        end = len(text)
    if start < end and text[start] == " ":
        start += 1
    return text[start:end]
