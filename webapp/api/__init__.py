"""The ingest API the processing server reports to (docs/contract.md, server -> webapp)."""
