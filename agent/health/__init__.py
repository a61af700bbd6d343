"""Health: the ordered checklist per peering, its per-peer verdict, ping, and doctor."""
