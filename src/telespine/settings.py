"""Typed settings from environment variables (prefix TELESPINE_, plus DATABASE_URL); they fail fast."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that appear in examples and templates; none of them may protect a real deployment.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "change_me", "secret", "dev", "development", "insecure", "please-change"}
)
# Words of template values ("change-me-change-me-...", "replace-with-your-secret"): a key that
# contains one, with punctuation and case ignored, is a placeholder however long it is. Seven
# letters or more, so that a random key (token_urlsafe) practically never contains one by chance.
PLACEHOLDER_WORDS = (
    "changeme",
    "replaceme",
    "replacewith",
    "placeholder",
    "yoursecret",
    "yourkey",
    "example",
    "insecure",
    "notsecret",
)
DEV_SECRET = "change-me"  # noqa: S105 -- the development placeholder that is refused elsewhere
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 10  # "kkkk..." or "abcabc..." is long but not random


def placeholder_secret(secret: str) -> bool:
    """True for a secret that is empty, short, repetitive or looks like a template placeholder."""
    folded = "".join(ch for ch in secret.lower() if ch.isalnum())
    return (
        secret.strip().lower() in PLACEHOLDER_SECRETS
        or len(secret) < MIN_SECRET_LENGTH
        or len(set(secret)) < MIN_SECRET_DISTINCT
        or any(word in folded for word in PLACEHOLDER_WORDS)
    )


class Settings(BaseSettings):
    """All run-time settings of the web app; read once at start."""

    model_config = SettingsConfigDict(env_prefix="TELESPINE_", extra="ignore", frozen=True)

    env: Literal["development", "production", "test"] = "development"
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TELESPINE_DATABASE_URL")
    )
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    emergency_number: str = Field(default="911", min_length=1, max_length=20)
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Failed sign-ins allowed per account *from one address* (and in all per address) in the window.
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    # Password hashes (argon2id, 64 MiB each) computed at once per worker process; others wait up
    # to login_hash_wait_seconds, then get 503 with Retry-After.
    login_max_concurrent_hashes: int = Field(default=2, ge=1, le=64)
    login_hash_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    # New accounts and password-reset requests per address in the window.
    signup_window_minutes: int = Field(default=60, ge=1)
    signup_max_per_ip: int = Field(default=5, ge=1)
    password_reset_max_per_ip: int = Field(default=5, ge=1)
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Two-factor sign-in (TOTP) for clinicians and admins: None = required outside development.
    require_totp: bool | None = None
    # Fernet keys (comma-separated, newest first) that encrypt the two-step sign-in secrets at
    # rest (telespine.store.datakeys); a key derived from secret_key always decrypts too, and
    # encrypts when none is set. `telespine db rotate-data-key` re-encrypts with the first.
    data_key: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    # Addresses (IPs or CIDR networks, comma-separated) of reverse proxies whose X-Forwarded-For
    # and X-Forwarded-Proto are believed; empty: none, the peer address is the client.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # One JSON object per log line (for log collectors) instead of plain text.
    json_logs: bool = False
    # One line per request (method, path without the query string, status, time): `serve --access-log`.
    access_log: bool = False
    # GET /metrics (Prometheus): with a token, only `Authorization: Bearer <token>`; without one,
    # only clients on the loopback interface.
    metrics_token: SecretStr | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Wearable exports (POST .../steps, issue 14): an Apple Health export.zip or export.xml is
    # often hundreds of MB; it is spooled to a temporary file and parsed as a stream.
    max_upload_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    # Tele-visit slot grid (minutes; divides an hour): bookings start on it, so the UNIQUE
    # (clinician, slot_start) rules out every overlap.
    visit_slot_minutes: int = Field(default=20, ge=5, le=60, multiple_of=5)
    demo_data: bool | None = None  # None: load demo data in development only
    # Video visits (telespine.web.visits): ICE servers for WebRTC (comma-separated URLs). TURN
    # uses the REST shared-secret scheme of coturn (use-auth-secret / static-auth-secret): each
    # joiner gets a username "<expiry>:<user id>" and an HMAC-SHA1 credential valid turn_ttl_seconds.
    stun_urls: Annotated[tuple[str, ...], NoDecode] = ()
    turn_urls: Annotated[tuple[str, ...], NoDecode] = ()
    turn_secret: SecretStr | None = None
    turn_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    ice_transport_policy: Literal["all", "relay"] = "all"
    visit_join_seconds: int = Field(default=900, ge=30, le=86400)  # lifetime of a signed join token
    # Reminder e-mails (the `telespine worker` process); links in e-mails start with public_url.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="telespine <no-reply@localhost>", min_length=3, max_length=254)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8000"
    worker_poll_seconds: float = Field(default=60.0, gt=0)
    # Questionnaires switched off in this deployment (TELESPINE_DISABLED_INSTRUMENTS=startback,peg);
    # comma-separated, not JSON (NoDecode), and an unknown id stops the start.
    disabled_instruments: Annotated[frozenset[str], NoDecode] = frozenset()
    # CDS Hooks (telespine.fhir): the EHRs allowed to call, as JSON {"issuer": "JWKS URL"}
    # (TELESPINE_CDS_ISSUERS), and the EHR origins allowed by CORS (comma-separated). With no
    # issuer every hook call is refused (401).
    cds_issuers: dict[str, str] = Field(default_factory=dict)
    cds_cors_origins: Annotated[frozenset[str], NoDecode] = frozenset()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"TELESPINE_TRUSTED_PROXIES: {item!r} is not an IP address or network"
                ) from None
        return value

    @field_validator("data_key", mode="before")
    @classmethod
    def _split_data_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("data_key")
    @classmethod
    def _valid_data_keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        from telespine.store.datakeys import check_key

        for key in value:
            try:
                check_key(key.get_secret_value())
            except ValueError:
                raise ValueError(
                    "TELESPINE_DATA_KEY: each key must be a Fernet key (python -c 'from "
                    "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
                ) from None
        return value

    @property
    def totp_required(self) -> bool:
        """Clinicians and admins must use two-factor sign-in (outside development by default)."""
        return not self.is_development if self.require_totp is None else self.require_totp

    @field_validator("visit_slot_minutes")
    @classmethod
    def _slot_divides_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError("must divide 60 (5, 10, 15, 20, 30 or 60)")
        return value

    @field_validator("stun_urls", "turn_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("disabled_instruments", mode="before")
    @classmethod
    def _split_instruments(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(p.strip().lower() for p in value.split(",") if p.strip())
        return value

    @field_validator("disabled_instruments")
    @classmethod
    def _known_instruments(cls, value: frozenset[str]) -> frozenset[str]:
        from telespine.instruments import INSTRUMENT_IDS

        unknown = sorted(value - set(INSTRUMENT_IDS))
        if unknown:
            raise ValueError(
                f"unknown instrument id(s) {', '.join(unknown)}; known: {', '.join(sorted(INSTRUMENT_IDS))}"
            )
        return value

    @field_validator("cds_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(p.strip().rstrip("/") for p in value.split(",") if p.strip())
        return value

    @model_validator(mode="after")
    def _jwks_over_https(self) -> Settings:
        for issuer, url in self.cds_issuers.items():
            scheme = url.split(":", 1)[0].lower()
            if scheme not in ("https", "http", "file") or (self.env == "production" and scheme != "https"):
                raise ValueError(f"TELESPINE_CDS_ISSUERS: the JWKS URL of {issuer!r} must be https")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.env != "development" and placeholder_secret(secret):
            raise ValueError(
                f"TELESPINE_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} characters, "
                f"not a placeholder, when TELESPINE_ENV={self.env} (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def enabled_instruments(self) -> frozenset[str] | None:
        """The instruments this deployment allows; None when nothing is switched off."""
        if not self.disabled_instruments:
            return None
        from telespine.instruments import INSTRUMENT_IDS

        return frozenset(i for i in INSTRUMENT_IDS if i not in self.disabled_instruments)

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def cookie_secure(self) -> bool:
        """Secure cookies everywhere except the local development server (plain http)."""
        return self.env != "development"

    @property
    def load_demo_data(self) -> bool:
        return self.is_development if self.demo_data is None else self.demo_data

    @property
    def sqlalchemy_url(self) -> str:
        """DATABASE_URL, or an embedded SQLite file in the data folder."""
        if self.database_url:
            url = self.database_url
            # Plain postgres URLs name the psycopg2 driver; telespine ships psycopg 3.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.data_dir / 'telespine.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
