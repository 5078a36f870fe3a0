// Things Portal's own example codec, for a water meter that takes three downlink commands.
// The format is the LoRa Alliance payload codec API (TS013), as The Things Stack and
// ChirpStack v4 run it, so a vendor's codec file is uploaded the same way.
//
//   set_interval  01 MM MM   report every MMMM minutes (16 bits, big endian, 1-1440)
//   reboot        02 SS      restart after SS seconds (0-255)
//   set_valve     03 VV      close (00) or open (01) the valve
// All on fPort 2.

function encodeDownlink(input) {
  var data = input.data || {};
  switch (data.command) {
    case "set_interval": {
      var minutes = data.interval_minutes;
      if (typeof minutes !== "number" || Math.floor(minutes) !== minutes || minutes < 1 || minutes > 1440) {
        return {errors: ["interval_minutes must be a whole number from 1 to 1440"]};
      }
      var warnings = minutes < 5 ? ["reporting more often than every 5 minutes drains the battery"] : [];
      return {bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff], fPort: 2, warnings: warnings};
    }
    case "reboot": {
      var delay = data.delay_seconds === undefined ? 0 : data.delay_seconds;
      if (typeof delay !== "number" || Math.floor(delay) !== delay || delay < 0 || delay > 255) {
        return {errors: ["delay_seconds must be a whole number from 0 to 255"]};
      }
      return {bytes: [0x02, delay], fPort: 2};
    }
    case "set_valve":
      if (typeof data.open !== "boolean") {
        return {errors: ["open must be true or false"]};
      }
      return {bytes: [0x03, data.open ? 1 : 0], fPort: 2};
    default:
      return {errors: ["command must be set_interval, reboot or set_valve"]};
  }
}

function decodeDownlink(input) {
  var bytes = input.bytes;
  switch (bytes[0]) {
    case 0x01:
      if (bytes.length !== 3) return {errors: ["set_interval takes 3 bytes"]};
      return {data: {command: "set_interval", interval_minutes: (bytes[1] << 8) | bytes[2]}};
    case 0x02:
      if (bytes.length !== 2) return {errors: ["reboot takes 2 bytes"]};
      return {data: {command: "reboot", delay_seconds: bytes[1]}};
    case 0x03:
      if (bytes.length !== 2) return {errors: ["set_valve takes 2 bytes"]};
      return {data: {command: "set_valve", open: bytes[1] === 1}};
    default:
      return {errors: ["unknown command " + bytes[0]]};
  }
}
