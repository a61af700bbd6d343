"""The router side: render the desired state, diff it against the observed facts, plan, apply."""
