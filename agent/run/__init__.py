"""The run loop: converge one router, one cycle with a lock and deadlines, the daemon schedule."""
