"""Sign up, log in and log out (Django's auth with its default user model)."""
