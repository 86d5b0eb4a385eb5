"""Unit tests of the gateway's pure parts: the access seam, labels and the role policy."""
