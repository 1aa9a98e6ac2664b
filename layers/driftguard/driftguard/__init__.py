"""driftguard: keeps cross-account KMS key and Secrets Manager policies at their declared state."""

__version__ = "0.2.0"
