"""A codec's examples from its device-repository definition, run in the real sandbox: a codec
that reproduces them passes, one that does not is refused with each failure in words."""

import pytest

from payload_codecs.examples import ExamplesUnreadable, failing_examples, read_examples
from payload_codecs.sandbox import CodecSandbox
from tests.payload_codecs.codecs import INTERVAL_CODEC

DEFINITION = """
downlinkEncoder:
  fileName: interval.js
  examples:
    - description: Report every 15 minutes
      input:
        data: {interval_minutes: 15}
      output:
        bytes: [1, 0, 15]
        fPort: 2
    - description: Out of range
      input:
        data: {interval_minutes: 0}
      output:
        errors: ["interval_minutes must be between 1 and 1440"]
downlinkDecoder:
  fileName: interval.js
  examples:
    - input: {bytes: [1, 0, 15], fPort: 2}
      output:
        data: {interval_minutes: 15}
"""


def test_a_codec_that_reproduces_its_examples_passes(sandbox: CodecSandbox) -> None:
    assert failing_examples(sandbox, INTERVAL_CODEC, DEFINITION) == []


def test_each_example_a_codec_does_not_reproduce_is_named_with_what_differed(
    sandbox: CodecSandbox,
) -> None:
    off_by_one = INTERVAL_CODEC.replace("minutes & 0xff]", "(minutes + 1) & 0xff]").replace(
        "fPort: 2,", "fPort: 3,"
    )
    wrong = DEFINITION.replace("bytes: [1, 0, 15]\n        fPort: 2", "bytes: [1, 0, 15]")
    assert failing_examples(sandbox, off_by_one, wrong) == [
        "downlinkEncoder Example 1 (Report every 15 minutes): expected bytes 01 00 0F, "
        "got 01 00 10",
    ]
    assert failing_examples(sandbox, off_by_one, DEFINITION)[0].endswith(
        "expected bytes 01 00 0F, got 01 00 10"
    )
    accepts_all = INTERVAL_CODEC.replace("minutes < 1 ||", "false &&")
    assert failing_examples(sandbox, accepts_all, DEFINITION) == [
        "downlinkEncoder Example 2 (Out of range): expected a refusal, got 01 00 00",
    ]


def test_a_codec_that_fails_an_example_is_quoted(sandbox: CodecSandbox) -> None:
    throws = "function encodeDownlink(input) { throw new Error('not yet'); }"
    failures = failing_examples(sandbox, throws, DEFINITION)
    assert failures[0] == (
        "downlinkEncoder Example 1 (Report every 15 minutes): The codec failed: Error: not yet"
    )
    assert failures[-1] == ("downlinkDecoder Example 1: The codec has no decodeDownlink function.")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("downlinkEncoder: [unclosed", "The examples file is not valid YAML (line 1)."),
        ("just text", "The examples file is not a codec definition."),
        ("downlinkEncoder: text", "downlinkEncoder is not a codec function's definition."),
        ("downlinkEncoder: {examples: 3}", "downlinkEncoder.examples is not a list of examples."),
    ],
)
def test_a_file_that_is_not_a_codec_definition_is_said_so(text: str, message: str) -> None:
    with pytest.raises(ExamplesUnreadable) as unreadable:
        read_examples(text)
    assert str(unreadable.value) == message


def test_a_definition_without_downlink_examples_has_none() -> None:
    assert read_examples("uplinkDecoder: {fileName: a.js}") == {
        "downlinkEncoder": [],
        "downlinkDecoder": [],
    }
