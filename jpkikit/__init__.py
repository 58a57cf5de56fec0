"""jpkikit: conformance test suite and certification kit for the JPKI smartphone profile."""

__version__ = "0.1.0"
