"""kaic: a policy-as-code scanner for Kubernetes AI Conformance."""

__version__ = "0.1.0"
