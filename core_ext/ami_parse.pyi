# The Python-level contract of the compiled kernel; ami_parse_py.py is its specification.
EVENTS: int
RESPONSES: int
DECODE_ERRORS: int
EMPTY_BLOCKS: int
OVERSIZE: int
OVERSIZE_BYTES: int
N_COUNTS: int

def split_messages(
    buf: bytes, max_message: int
) -> tuple[list[tuple[str | None, str]], int, list[int]]: ...
def header_value(text: str, key: str) -> str | None: ...
