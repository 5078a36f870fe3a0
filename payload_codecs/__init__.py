"""Device makers' payload codecs, run sandboxed (`payload_codecs.sandbox`). Knows no Django."""
