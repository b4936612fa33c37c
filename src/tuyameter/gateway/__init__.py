"""The gateway pipeline: source → readings → outputs."""
