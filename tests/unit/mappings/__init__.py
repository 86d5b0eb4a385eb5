"""Unit tests of the source-system mappings (the psychiatry MLLP transport over loopback sockets)."""
