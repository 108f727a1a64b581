"""Accounts and roles: the project's users file (scrypt password hashes), sign-in checks, the start-up rule.

The users file is `labels/users.toml` in the project. It holds, per user, a role (`annotator` or `reviewer`),
an optional e-mail and `scrypt$<n>$<r>$<p>$<salt>$<hash>` (base64, a random salt per user): never a password.
No users file (or no users in it) means the single-user mode: whoever opens the app is a reviewer, which the
server allows only on a loopback address unless started with --no-auth.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import sqlite3
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import store
from .errors import LabelAppError
from .files import write_atomic
from .names import canonical_name
from .project import Project

ROLES = ("annotator", "reviewer")
# what only a reviewer may do; pages and controls ask `allowed(role, action)`
REVIEWER_ACTIONS = frozenset({"adjudicate", "create-version", "settings", "retrain", "import"})
SIGNIN_FAILED = "Sign-in failed: unknown user or wrong password."
# the same words whether or not the account exists, so throttling tells nothing about which names are real
SIGNIN_THROTTLED = ("Too many failed sign-ins for this account or from this address: wait {minutes} "
                    "minute{s} and try again (a reviewer can reset a forgotten password).")
# failed sign-ins allowed per window (seconds) before further tries are refused without checking the password
THROTTLE_ACCOUNT = (5, 900.0)
THROTTLE_ADDRESS = (20, 900.0)
THROTTLE_FILE = "signin.sqlite3"
NO_ACCOUNT_FOR_EMAIL = "Signed in as {email}, but no account in this project has that e-mail; ask a reviewer."
MIN_PASSWORD = 8
# scrypt cost: 16 MiB and ~50 ms per check, so guessing is slow but signing in is not
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
_HASH_RE = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")
_EMAIL_RE = re.compile(r"^[^@\s\"\\]+@[^@\s\"\\]+$")
HOST_ENV = "LABEL_APP_HOST"
NO_AUTH_ENV = "LABEL_APP_NO_AUTH"


class UsersFileError(LabelAppError):
    """The users file cannot be read or is invalid (the app then refuses everyone)."""


@dataclass(frozen=True)
class User:
    """One account: name (the annotator name in the label log), role, optional e-mail, password hash."""

    name: str
    role: str
    password: str
    email: str = ""

    @property
    def is_reviewer(self) -> bool:
        return self.role == "reviewer"


def users_path(project: Project) -> Path:
    return project.labels_dir / "users.toml"


# ---------------------------------------------------------------- passwords

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """An scrypt hash string with its parameters and a fresh random salt."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN,
                            maxmem=64 * 1024 * 1024)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    m = _HASH_RE.match(stored)
    if not m:
        return False
    n, r, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
    salt, want = base64.b64decode(m.group(4)), base64.b64decode(m.group(5))
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(want),
                         maxmem=64 * 1024 * 1024)
    return hmac.compare_digest(got, want)


@functools.cache
def _dummy_hash() -> str:
    # checked for unknown names, so they take as long as known ones (no user enumeration by timing)
    return hash_password("no such user", salt=b"\0" * 16)


def check_new_password(password: str) -> str:
    """The password if it is acceptable for a new account, else LabelAppError."""
    if len(password) < MIN_PASSWORD:
        raise LabelAppError(f"password too short: use at least {MIN_PASSWORD} characters")
    if password != password.strip():
        raise LabelAppError("password starts or ends with white space: leave it out")
    return password


# ---------------------------------------------------------------- the users file

_cache: dict[str, tuple[tuple[int, int], dict[str, User]]] = {}
_cache_lock = threading.Lock()


def parse_users(text: str, where: str) -> dict[str, User]:
    """Users from the file's TOML text; errors name the file and the user."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsersFileError(f"{where}: not valid TOML: {exc}") from None
    table = data.get("users", {})
    if not isinstance(table, dict):
        raise UsersFileError(f"{where}: [users] must be a table of users")
    out: dict[str, User] = {}
    for written, entry in table.items():
        name = canonical_name(written)  # "Sara" in the file signs in as, and labels as, "sara"
        try:
            store.validate_annotator(name)
        except LabelAppError as exc:
            raise UsersFileError(f"{where}: {exc}") from None
        if name in out:
            raise UsersFileError(f"{where}: [users.{written}]: the same user as [users.{out[name].name}] (names "
                                 "are not case-sensitive); keep one")
        if not isinstance(entry, dict):
            raise UsersFileError(f"{where}: [users.{name}] must be a table")
        role, pw, email = entry.get("role"), entry.get("password"), entry.get("email", "")
        if role not in ROLES:
            raise UsersFileError(f"{where}: [users.{name}].role: {role!r} (use {' or '.join(ROLES)})")
        if not isinstance(pw, str) or not _HASH_RE.match(pw):
            raise UsersFileError(f"{where}: [users.{name}].password: not an scrypt hash (set it with "
                                 f"`python -m label_app users add {name} --replace`)")
        if not isinstance(email, str):
            raise UsersFileError(f"{where}: [users.{name}].email: must be a string")
        out[name] = User(name, role, pw, email)
    return out


def load_users(project: Project) -> dict[str, User]:
    """The project's users (empty without a users file); re-read only when the file changes."""
    path = users_path(project)
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    key = str(path)
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"{path}: unreadable users file: {exc}") from None
    users = parse_users(text, str(path))
    with _cache_lock:
        _cache[key] = (stamp, users)
    return users


def users_toml(users: dict[str, User]) -> str:
    """The users file text (names are validated, strings JSON-quoted, which TOML reads the same)."""
    out = ["# Accounts of this label-app project: scrypt password hashes, never passwords.",
           "# Manage with `python -m label_app users add|list|remove`.", ""]
    for u in sorted(users.values(), key=lambda u: u.name):
        out += [f"[users.{json.dumps(u.name)}]", f"role = {json.dumps(u.role)}"]
        if u.email:
            out.append(f"email = {json.dumps(u.email)}")
        out += [f"password = {json.dumps(u.password)}", ""]
    return "\n".join(out)


def save_users(project: Project, users: dict[str, User]) -> None:
    """Write the users file atomically, readable by its owner only."""
    path = users_path(project)
    try:
        write_atomic(path, users_toml(users), mode=0o600)
    except OSError as exc:
        raise LabelAppError(f"{path}: users NOT saved: {exc.strerror or exc}") from None


def add_user(project: Project, name: str, role: str, password: str, email: str = "",
             replace: bool = False) -> User:
    """Create (or with `replace`, overwrite) an account; the password is stored as an scrypt hash. The name is
    stored in its canonical spelling (lower case: names are not case-sensitive)."""
    name = store.validate_annotator(canonical_name(name))
    if role not in ROLES:
        raise LabelAppError(f"role {role!r}: use {' or '.join(ROLES)}")
    if email and not _EMAIL_RE.match(email):
        raise LabelAppError(f"e-mail {email!r} does not look like an address")
    check_new_password(password)
    users = dict(load_users(project))
    if name in users and not replace:
        raise LabelAppError(f"user {name!r} already exists (use --replace to change the role or password)")
    user = User(name, role, hash_password(password), email)
    users[name] = user
    save_users(project, users)
    return user


def remove_user(project: Project, name: str) -> None:
    """Delete an account (any spelling of its name); its labels stay."""
    name = canonical_name(name)
    users = dict(load_users(project))
    if name not in users:
        raise LabelAppError(f"no user {name!r} in {users_path(project)}")
    del users[name]
    save_users(project, users)


# ---------------------------------------------------------------- sign-in and roles

def authenticate(users: dict[str, User], name: str, password: str) -> User | None:
    """The user if the name and password match; the same work is done for unknown names."""
    user = users.get(canonical_name(name))
    ok = check_password(password, user.password if user else _dummy_hash())
    return user if ok and user is not None else None


class SigninThrottle:
    """Failed sign-ins per account name and per client address, in SQLite under the project's `.cache/`
    (shared by every server process, so two processes do not double the guesses).

    At most `account[0]` failures per name and `address[0]` per address within their windows (seconds);
    beyond that, `wait` says how long until the oldest of them ages out. Names are counted whether or not
    the account exists. Raises LabelAppError naming the file when it cannot be used.
    """

    def __init__(self, path: str | os.PathLike[str], account: tuple[int, float] = THROTTLE_ACCOUNT,
                 address: tuple[int, float] = THROTTLE_ADDRESS) -> None:
        self.path = Path(path)
        self.limits = {"name": account, "addr": address}
        self._lock = threading.Lock()

    @classmethod
    def for_project(cls, project: Project) -> SigninThrottle:
        return cls(project.cache_dir / THROTTLE_FILE)

    def _db(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at)")
        except (sqlite3.Error, OSError) as exc:
            raise LabelAppError(f"{self.path}: cannot open the sign-in throttle: {exc}") from None
        return conn

    def _keys(self, name: str, address: str) -> list[tuple[str, int, float]]:
        return [(f"{kind}:{value}", *self.limits[kind]) for kind, value in (("name", name.strip()),
                                                                           ("addr", address))]

    def wait(self, name: str, address: str, now: float | None = None) -> float:
        """Seconds until `name` may try again from `address` (0.0: now)."""
        now = time.time() if now is None else now
        longest = 0.0
        with self._lock:
            conn = self._db()
            try:
                for key, limit, window in self._keys(name, address):
                    times = [t for (t,) in conn.execute(
                        "SELECT at FROM failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?",
                        (key, now - window, limit))]
                    if len(times) >= limit:
                        longest = max(longest, times[-1] + window - now)
            finally:
                conn.close()
        return longest

    def failed(self, name: str, address: str, now: float | None = None) -> None:
        """Count one failed sign-in for the name and the address (and forget failures past every window)."""
        now = time.time() if now is None else now
        oldest = now - max(w for _limit, w in self.limits.values())
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM failures WHERE at <= ?", (oldest,))
                conn.executemany("INSERT INTO failures VALUES (?, ?)",
                                 [(key, now) for key, _l, _w in self._keys(name, address)])
                conn.execute("COMMIT")
            finally:
                conn.close()

    def succeeded(self, name: str) -> None:
        """A correct password clears the name's failures (not the address's)."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("DELETE FROM failures WHERE key = ?", (f"name:{name.strip()}",))
            finally:
                conn.close()


def throttled_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return SIGNIN_THROTTLED.format(minutes=minutes, s="" if minutes == 1 else "s")


def sign_in(throttle: SigninThrottle, users: dict[str, User], name: str, password: str, address: str,
            now: float | None = None) -> tuple[User | None, str]:
    """(user, '') when the name and password match and neither the name nor the address is throttled;
    else (None, the message to show): SIGNIN_FAILED, or the throttled message (the password is then not
    even checked, so a throttled guess costs no scrypt and tells nothing)."""
    wait = throttle.wait(name, address, now)
    if wait > 0:
        return None, throttled_message(wait)
    user = authenticate(users, name, password)
    if user is None:
        throttle.failed(name, address, now)
        return None, SIGNIN_FAILED
    throttle.succeeded(name)
    return user, ""


def client_address(peer: str | None, headers: Mapping[str, str]) -> str:
    """The address a sign-in is counted against: the peer's, or, when the peer is this machine (a reverse
    proxy on loopback), the client the proxy names in X-Real-IP / X-Forwarded-For (its last hop). A remote
    peer's forwarding headers are ignored: anyone can send them."""
    if peer and not is_loopback(peer):
        return peer
    low = {str(k).lower(): str(v) for k, v in headers.items()}
    real = low.get("x-real-ip", "").strip()
    if real:
        return real
    forwarded = [h.strip() for h in low.get("x-forwarded-for", "").split(",") if h.strip()]
    return forwarded[-1] if forwarded else "local"


def user_for_email(users: dict[str, User], email: str) -> User | None:
    """The account whose e-mail matches (case-insensitive): how an OIDC sign-in maps to a role."""
    want = (email or "").strip().lower()
    if not want:
        return None
    return next((u for u in users.values() if u.email.strip().lower() == want), None)


def oidc_provider(auth_secrets: Any) -> str | None:
    """The provider to pass to st.login for a secrets.toml [auth] table: '' for a single unnamed one, the
    first [auth.NAME] otherwise, None when no provider is configured."""
    if not isinstance(auth_secrets, Mapping) or not auth_secrets:
        return None
    if "client_id" in auth_secrets:
        return ""
    return next((name for name, v in auth_secrets.items() if isinstance(v, Mapping) and "client_id" in v), None)


def allowed(role: str, action: str) -> bool:
    """Whether a role may do an action (see REVIEWER_ACTIONS; anything else is open to both roles)."""
    return role == "reviewer" or action not in REVIEWER_ACTIONS


def is_loopback(host: str) -> bool:
    """Whether the server address is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def startup_problem(host: str, users: dict[str, User], no_auth: bool) -> str | None:
    """Why the server must not start (one line), or None: no accounts on a non-loopback address."""
    if users or no_auth or is_loopback(host):
        return None
    return (f"refusing to serve on {host} without sign-in: no users are configured; add one with "
            "`python -m label_app users add NAME --role reviewer` (or pass --no-auth to let anyone who can "
            "reach the address in as a reviewer)")


@dataclass(frozen=True)
class Access:
    """What a browser session may do: sign-in needed, or open (single user), or refused (a message)."""

    mode: str  # "signin" | "open" | "refused"
    users: dict[str, User]
    message: str = ""


def access(project: Project, host: str | None, no_auth: bool) -> Access:
    """The access mode for the app: accounts when users exist; open only where the server allows it."""
    try:
        users = load_users(project)
    except UsersFileError as exc:
        return Access("refused", {}, f"Sign-in is unavailable: {exc}")
    if users:
        return Access("signin", users)
    problem = startup_problem(host, users, no_auth) if host else None
    if problem:
        return Access("refused", {}, f"The app is not open: {problem}")
    return Access("open", {})
