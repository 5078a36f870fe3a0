"""A codec's own examples, run before the codec is accepted: the device repository's codec
definition (The Things Network's `vendor/<maker>/<codec>.yaml`) lists, per function, inputs and
the output they must give. A codec whose examples fail is refused, each failure in words.

    downlinkEncoder:
      fileName: codec.js
      examples:
        - description: Report every 15 minutes
          input: {data: {interval_minutes: 15}}
          output: {bytes: [1, 0, 15], fPort: 2}
        - description: Out of range
          input: {data: {interval_minutes: 0}}
          output: {errors: ["interval_minutes must be between 1 and 1440"]}
    downlinkDecoder:
      examples:
        - input: {bytes: [1, 0, 15], fPort: 2}
          output: {data: {interval_minutes: 15}}
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from payload_codecs.sandbox import CodecFailed, CodecRefused, CodecSandbox

ENCODER, DECODER = "downlinkEncoder", "downlinkDecoder"


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as the device repository's tools (and YAML 1.2) read it: only true and false are
    booleans, so a label such as On, Off, Yes or No stays text."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_yaml(text: str) -> Any:
    """The document in `text`; yaml.YAMLError when it is not YAML."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506  # a SafeLoader


class ExamplesUnreadable(Exception):
    """The examples file is not a codec definition; the message says why."""


def read_examples(text: str) -> dict[str, list[dict[str, Any]]]:
    """The downlink examples of a codec definition (YAML), by function: ENCODER, DECODER."""
    try:
        definition = load_yaml(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ExamplesUnreadable(f"The examples file is not valid YAML{line}.") from None
    if not isinstance(definition, dict):
        raise ExamplesUnreadable("The examples file is not a codec definition.")
    found: dict[str, list[dict[str, Any]]] = {}
    for section in (ENCODER, DECODER):
        part = definition.get(section) or {}
        if not isinstance(part, dict):
            raise ExamplesUnreadable(f"{section} is not a codec function's definition.")
        examples = part.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
            raise ExamplesUnreadable(f"{section}.examples is not a list of examples.")
        found[section] = examples
    return found


def _bytes_text(values: Any) -> str:
    if isinstance(values, list | bytes) and all(isinstance(v, int) for v in values):
        return " ".join(f"{v:02X}" for v in values) or "no bytes"
    return json.dumps(values)


def _name(number: int, example: dict[str, Any]) -> str:
    description = example.get("description")
    return f"Example {number}" + (f" ({description})" if description else "")


def _refusal_failure(refused: CodecRefused, expected: dict[str, Any]) -> str | None:
    """None if the example expects exactly these errors."""
    if expected.get("errors"):
        wanted = tuple(str(error) for error in expected["errors"])
        return None if refused.errors == wanted else f"refused with {list(refused.errors)}"
    return f"was refused: {'; '.join(refused.errors)}"


def _encoder_failure(sandbox: CodecSandbox, source: str, example: dict[str, Any]) -> str | None:
    expected = example.get("output") or {}
    data = (example.get("input") or {}).get("data")
    try:
        encoded = sandbox.encode(source, data)
    except CodecRefused as refused:
        return _refusal_failure(refused, expected)
    except CodecFailed as failed:
        return str(failed)
    if expected.get("errors"):
        return f"expected a refusal, got {_bytes_text(encoded.payload)}"
    if list(encoded.payload) != expected.get("bytes"):
        return (
            f"expected bytes {_bytes_text(expected.get('bytes'))}, "
            f"got {_bytes_text(encoded.payload)}"
        )
    if "fPort" in expected and encoded.f_port != expected["fPort"]:
        return f"expected fPort {expected['fPort']}, got {encoded.f_port}"
    return None


def _decoder_failure(sandbox: CodecSandbox, source: str, example: dict[str, Any]) -> str | None:
    expected = example.get("output") or {}
    given = example.get("input") or {}
    values = given.get("bytes")
    if not isinstance(values, list) or not all(
        isinstance(v, int) and 0 <= v <= 255 for v in values
    ):
        return f"its input bytes {json.dumps(values)} are not bytes"
    try:
        decoded = sandbox.decode(source, bytes(values), given.get("fPort"))
    except CodecRefused as refused:
        return _refusal_failure(refused, expected)
    except CodecFailed as failed:
        return str(failed)
    if decoded.data != expected.get("data"):
        return f"expected {json.dumps(expected.get('data'))}, got {json.dumps(decoded.data)}"
    return None


def failing_examples(sandbox: CodecSandbox, source: str, examples_text: str) -> list[str]:
    """Each example the codec does not reproduce, in words; empty when all pass."""
    examples = read_examples(examples_text)
    failures: list[str] = []
    for section, check in ((ENCODER, _encoder_failure), (DECODER, _decoder_failure)):
        for number, example in enumerate(examples[section], start=1):
            failure = check(sandbox, source, example)
            if failure is not None:
                failures.append(f"{section} {_name(number, example)}: {failure}")
    return failures
