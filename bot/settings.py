"""Settings from environment variables (and a `.env` file), validated once at start-up."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.engine.config import Tuning

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOKEN_PATTERN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
CLOUD_API_HOST = "api.telegram.org"
"""Telegram's own Bot API: webhooks over HTTPS only (a local Bot API server also accepts http)."""
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
"""Telegram's rule for setWebhook's secret_token: 1-256 characters, A-Z a-z 0-9 _ -."""
PUBLIC_SALT = "faqbot"
"""The salt earlier versions used by default: printed in the README, so it protects nothing."""
SALT_FILE = "user-hash-salt"


class Settings(BaseSettings):
    """All settings of the bot. Environment variable names are the field names in upper case."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    faqbot_kb: Path = Field(default=PROJECT_ROOT, description="Folder holding intents/ and content/.")
    faqbot_data_dir: Path = Field(default=Path("data"), description="Where the database and heartbeat live.")
    faqbot_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "faqbot", description="Where the embeddings of the examples are cached (rebuilt if missing)."
    )
    faqbot_threshold: float = Field(default=Tuning.threshold, ge=0, le=1)
    faqbot_margin: float = Field(default=Tuning.margin, ge=0, le=1)
    faqbot_sure: float = Field(default=Tuning.sure, ge=0, le=1)
    faqbot_context_ttl: float = Field(default=Tuning.context_ttl, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for a Bot API response before retrying.")
    telegram_poll_timeout: int = Field(default=30, ge=0, description="Long-polling timeout of getUpdates, in seconds.")
    telegram_http: Literal["aiohttp", "httpx"] = Field(default="aiohttp", description="HTTP client of the Bot API requests.")
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    user_rate: int = Field(default=20, ge=1, description="Messages (and commands) a user may send per minute.")
    user_tap_rate: int = Field(default=60, ge=1, description="Button taps a user may make per minute (browsing menus is fast).")
    retention_days: int = Field(default=90, ge=1, description="Days after which the texts of logged questions are deleted.")
    user_hash_salt: SecretStr | None = Field(
        default=None, description="Salt of the user-id hashes; unset: a random one kept in FAQBOT_DATA_DIR/user-hash-salt."
    )
    faqbot_report_threshold: float = Field(default=0.65, ge=0, le=1, description="Report: answers below this score are low-confidence.")
    faqbot_report_similarity: float = Field(
        default=70.0, ge=0, le=100, description="Report: how alike (0-100: cosine x 100 of the sentence vectors) grouped questions are."
    )
    faqbot_reload_watch: bool = Field(default=True, description="Reload the knowledge base when intents/ or content/ change.")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = value.replace(",", " ").strip("[] ").split()
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise PydanticCustomError("admin_ids", "must be Telegram user ids (numbers) separated by commas or spaces")
            return [int(p) for p in parts]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_rule(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @field_validator("user_hash_salt")
    @classmethod
    def _salt_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("USER_HASH_SALT must not be empty (unset it to use a generated one)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> Settings:
        missing = [name for name, value in (("WEBHOOK_URL", self.webhook_url), ("WEBHOOK_SECRET", self.webhook_secret)) if not value]
        if self.mode == "webhook" and missing:
            raise PydanticCustomError(
                "webhook",
                "MODE=webhook needs {missing} (the public HTTPS address and a secret of your choice)",
                {"missing": " and ".join(missing)},
            )
        cloud = urlsplit(self.telegram_api_url).hostname == CLOUD_API_HOST
        if self.mode == "webhook" and cloud and not str(self.webhook_url).lower().startswith("https://"):
            raise ValueError("WEBHOOK_URL must be an https:// URL (Telegram's Bot API sends webhooks over HTTPS only)")
        return self

    def salt_warning(self) -> str | None:
        """A warning if USER_HASH_SALT is set to the public default of earlier versions."""
        if self.user_hash_salt is not None and self.user_hash_salt.get_secret_value() == PUBLIC_SALT:
            return f"USER_HASH_SALT is the public value {PUBLIC_SALT!r}: anyone can link user hashes to ids; unset it or set your own"
        return None

    def hash_salt(self) -> str:
        """The salt of the user-id hashes: USER_HASH_SALT if set, else a random salt generated on first use and
        kept in `<FAQBOT_DATA_DIR>/user-hash-salt` (mode 0600).

        Raises OSError if the data folder cannot be written or the file read.
        """
        if self.user_hash_salt is not None:
            return self.user_hash_salt.get_secret_value()
        path = self.faqbot_data_dir / SALT_FILE
        try:
            return _read_salt(path)
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        salt = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process got there first
            return _read_salt(path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(salt + "\n")
        return salt

    def tuning(self) -> Tuning:
        """The scoring and decision configuration, with the knobs these settings override."""
        return replace(
            Tuning(),
            threshold=self.faqbot_threshold,
            margin=self.faqbot_margin,
            sure=self.faqbot_sure,
            context_ttl=self.faqbot_context_ttl,
        )

    def database_path(self) -> Path:
        """The conversation log: `<FAQBOT_DATA_DIR>/faqbot.sqlite3`."""
        return self.faqbot_data_dir / "faqbot.sqlite3"

    def token(self) -> str:
        """The bot token, checked; raise ValueError with a one-line reason if missing or malformed."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        token = self.telegram_bot_token.get_secret_value().strip()
        if not TOKEN_PATTERN.match(token):
            raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (expected 123456789:AA...)")
        return token


_SECRET = frozenset({"telegram_bot_token", "webhook_secret", "user_hash_salt"})
_WORDS = {
    "literal_error": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "path_type": "must be a folder path",
    "string_type": "must be text",
}


def setting_problems(error: ValidationError) -> list[str]:
    """Every invalid setting of a failed `Settings()`, one line each: the variable's name, its value (never a secret's),
    and what is wrong, in our words."""
    lines = []
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"][:1])
        words = _WORDS.get(problem["type"])
        reason = words.format(**(problem.get("ctx") or {})) if words else str(problem["msg"]).removeprefix("Value error, ")
        if not field:
            lines.append(reason)
            continue
        given = problem.get("input")
        shown = "" if field in _SECRET or not isinstance(given, str | int | float) else f"={given}"
        lines.append(f"{field.upper()}{shown}: {reason}")
    return lines


def _read_salt(path: Path) -> str:
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise OSError(f"{path} is empty: delete it to generate a new salt (older log rows will no longer match users)")
    return salt
