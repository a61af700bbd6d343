"""peerops: a pull agent that converges OpenBSD routers onto DN42 peerings kept in git."""

__version__ = "0.1.0"
