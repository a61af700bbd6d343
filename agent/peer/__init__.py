"""The outside peer's view of a peering: scaffold its file (`peer new`) and export the
configuration it puts on its own router (`peer config`)."""
