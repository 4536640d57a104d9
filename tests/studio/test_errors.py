import gradio as gr
import pytest

from gm_common.errors import ConfigError, InputFileError
from studio.errors import one_line, shown_in_page


def test_one_line_names_an_upload_by_its_name():
    err = InputFileError("/tmp/gradio/abc123/song.txt", "cannot be read\n  Traceback (most recent call last)")
    assert one_line(err, ["/tmp/gradio/abc123/song.txt"]) == "song.txt: cannot be read"


def test_a_toolkit_error_becomes_its_one_line():
    with pytest.raises(gr.Error) as info:
        with shown_in_page():
            raise ConfigError("unknown instrument 'kazoo'; valid names: piano, violin")
    assert info.value.message == "unknown instrument 'kazoo'; valid names: piano, violin"


def test_any_other_failure_is_one_line_too():
    with pytest.raises(gr.Error) as info:
        with shown_in_page():
            raise ValueError("shape mismatch\nmore detail")
    assert info.value.message == "internal error (ValueError): shape mismatch"
