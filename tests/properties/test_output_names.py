"""The output key is a one-to-one function of the source key: no two uploads ever share an output.

Generated keys from an alphabet that makes collisions likely (separators, dots, empty segments,
case, extensions), for the default name and for custom OUTPUT_PATHs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.config import load_settings
from handler.errors import OutputKeyTooLongError, UnsafeKeyError
from handler.outputs import output_location

BUCKET, REGION = "photos-1250000000", "ap-guangzhou"
segments = st.text(alphabet="ab./_-A é", max_size=6)
keys = st.lists(segments, min_size=1, max_size=5).map("/".join).filter(lambda k: k and not k.startswith("/"))
CONFIGURATIONS = [
    {},
    {"OUTPUT_PATH": "{inputName}.{inputFormat}_hd.{format}"},
    {"OUTPUT_PATH": "hd/{inputName}.{inputFormat}.{format}"},
    {"OUTPUT_DIR": "/", "OUTPUT_BUCKET": "out-1250000000"},
]


def output_key(key: str, configuration: dict[str, str]) -> str | None:
    try:
        where = output_location(BUCKET, REGION, key, load_settings(configuration))
    except (UnsafeKeyError, OutputKeyTooLongError):
        return None  # such a record fails: it has no output to share
    return where.output_dir + (where.output_path or "")


@pytest.mark.parametrize("configuration", CONFIGURATIONS, ids=repr)
@settings(max_examples=300)
@given(sources=st.lists(keys, min_size=2, max_size=8, unique=True))
def test_distinct_sources_have_distinct_outputs(configuration, sources):
    outputs = [o for o in (output_key(k, configuration) for k in sources) if o is not None]
    assert len(outputs) == len(set(outputs)), sources
