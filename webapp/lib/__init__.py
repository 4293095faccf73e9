"""Nearly Django-free helpers: source parsing, the processing-server client, JSON validation."""
