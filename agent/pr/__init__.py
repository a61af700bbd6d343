"""A pull request against a state repo, in a reviewer's terms (`check-pr`, `simulate --base`)."""
