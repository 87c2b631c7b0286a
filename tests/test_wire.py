"""Input from outside is decoded without ever raising anything but InvalidInput."""
import pytest

from appliance.errors import InvalidInput
from appliance.wire import parse_json

pytestmark = pytest.mark.fast


def test_a_normal_request_decodes():
    assert parse_json(b'{"verb": "receptive", "args": {"minutes": 20}}', what="request",
                      max_bytes=1024) == {"verb": "receptive", "args": {"minutes": 20}}


@pytest.mark.parametrize("raw, says", [
    (b"[" * 3000 + b"]" * 3000, "request: nested deeper than 16 levels"),
    (b'{"a": "\xff"}', "request: not UTF-8 text"),
    (b'{"level": NaN}', "request: not valid JSON (NaN is not a number JSON allows)"),
    (b'{"level": ', "request: not valid JSON (Expecting value)"),
    (b"x" * 20000, "request: longer than 16384 bytes"),
])
def test_bad_input_is_one_clear_line(raw, says):
    with pytest.raises(InvalidInput) as caught:
        parse_json(raw, what="request", max_bytes=16384)
    assert str(caught.value) == says


def test_brackets_inside_strings_do_not_count_as_depth():
    assert parse_json('{"track": "' + "[" * 100 + '"}', what="request",
                      max_bytes=1024) == {"track": "[" * 100}
