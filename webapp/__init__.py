"""The Django web app: accounts, tracked streams, their highlights and the ingest API."""
