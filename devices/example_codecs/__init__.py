"""The project's own example codec (water_meter.js with its examples, water_meter.yaml): the
demo's device type uses it, the tests run it, and the README shows how to upload one."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
WATER_METER_CODEC = (HERE / "water_meter.js").read_text(encoding="utf-8")
WATER_METER_EXAMPLES = (HERE / "water_meter.yaml").read_text(encoding="utf-8")
