"""The state repo: fetch it under the trust policy, then load and validate what it says."""
