"""Log-in throttling: after LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address,
every log-in for that pair is refused, right password or not, for LOGIN_LOCKOUT_S seconds.

The count lives in Django's cache (the default: this process's memory). Limits, as documented in
the README: a restart forgets the counts; several worker processes each count on their own (set a
shared cache such as Redis in CACHES for them); an attacker with many addresses gets
LOGIN_FAILURE_LIMIT tries per address per user name per lockout period. Behind a proxy REMOTE_ADDR
must be the browser's address (`python -m webapp` with WEBAPP_TRUSTED_PROXY), or every user shares
the proxy's address and a locked-out name is locked out for everyone.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest


def _key(request: HttpRequest, username: str) -> str:
    pair = f"{username.strip().lower()}\n{request.META.get('REMOTE_ADDR', '')}"
    return "login-failures:" + hashlib.sha256(pair.encode()).hexdigest()


def is_locked_out(request: HttpRequest, username: str) -> bool:
    return cache.get(_key(request, username), 0) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(request: HttpRequest, username: str) -> None:
    key = _key(request, username)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_S)  # the window starts at the first failure
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr: this failure starts a new window
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_S)


def clear_failures(request: HttpRequest, username: str) -> None:
    cache.delete(_key(request, username))


class ThrottledModelBackend(ModelBackend):
    """Django's user/password check, refusing a locked-out (user name, address) before it runs.

    Every log-in goes through here (the log-in page, the admin's), so none of them escapes the count.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None or username is None:  # not a web log-in (e.g. a management command)
            return super().authenticate(request, username, password, **kwargs)
        if is_locked_out(request, username):
            raise PermissionDenied("too many failed log-ins")  # authenticate() stops here: no password check
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            record_failure(request, username)
        else:
            clear_failures(request, username)
        return user


class LoginForm(AuthenticationForm):
    """The log-in form, saying in words when the user name is locked out from this address."""

    def get_invalid_login_error(self) -> ValidationError:
        username = self.cleaned_data.get("username")
        if self.request is not None and username and is_locked_out(self.request, username):
            minutes = max(1, round(settings.LOGIN_LOCKOUT_S / 60))
            return ValidationError(
                f"Too many failed log-ins for this user name from your address. "
                f"Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="locked_out",
            )
        return super().get_invalid_login_error()
