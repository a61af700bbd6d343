"""Facts: pure parsers that turn OpenBSD command output into typed values."""
