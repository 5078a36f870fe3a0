"""Codecs the tests run."""

# A codec as device makers publish them (The Things Network's device repository style): the
# reporting interval in minutes as a 16-bit big-endian number after command 0x01, on fPort 2.
INTERVAL_CODEC = """
function encodeDownlink(input) {
  var minutes = input.data.interval_minutes;
  if (typeof minutes !== "number" || minutes < 1 || minutes > 1440) {
    return {errors: ["interval_minutes must be between 1 and 1440"]};
  }
  var warnings = minutes < 5 ? ["intervals under 5 minutes drain the battery"] : [];
  return {bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff], fPort: 2, warnings: warnings};
}
function decodeDownlink(input) {
  if (input.bytes[0] !== 0x01) return {errors: ["unknown command " + input.bytes[0]]};
  return {data: {interval_minutes: (input.bytes[1] << 8) | input.bytes[2]}, warnings: []};
}
"""
