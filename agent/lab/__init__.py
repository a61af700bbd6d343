"""The lab: simulated fleets built from a state repo (demo, simulate, provisioning, scenarios)."""
