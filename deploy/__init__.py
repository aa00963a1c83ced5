"""Deployment tools of OCR Studio: the package descriptor, its checks, the reproducible zip, the automated
deployer's test, and running instances. Command line: `python -m deploy --help` (see docs/deploy.md)."""
