"""Prefect flows and deployments: thin wrappers over claimflow.pipeline."""
