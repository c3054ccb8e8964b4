"""Dalil's settings: the ``dalil:`` section of ``config.yml``, overridden by environment variables.

Built on pydantic-settings: each field is read from its environment variable (``DALIL_<FIELD>``, or the
vendor's own name for the channel secrets), then from its place in ``config.yml``, then its default.
Secrets (tokens, app secrets) come only from the environment and are held as ``SecretStr`` so they never
appear in logs or reprs. A bad value stops start-up with a sentence naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars
from ruamel.yaml import YAML

from knowledge.clock import parse_moment
from knowledge.database import normalize_database_url
from knowledge.opendata import overpass
from knowledge.opendata.merge import DEFAULT_MIN_CONFIDENCE

__all__ = ["CONFIG_KEYS", "Settings", "SettingsError"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the key."""


def _env(name: str) -> Any:
    """A field read from the environment variable ``name`` (not ``DALIL_<FIELD>``)."""
    return Field(default=None, validation_alias=AliasChoices(name))


class Settings(BaseSettings):
    """Every setting Dalil reads, validated at start-up."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix="DALIL_", env_ignore_empty=True, validate_by_name=True
    )

    data_dir: Path = Path("data")
    database_url: str = Field(default_factory=lambda: normalize_database_url(""))
    redis_url: str | None = None
    nlu_engine: Literal["embedded", "rasa"] = "embedded"
    rasa_url: str = "http://127.0.0.1:5005"
    model_dir: Path = Path("models")
    state_dir: Path = Path("var/state")
    """Where ``dalil ask`` keeps conversations between runs (``DALIL_STATE_DIR``; Redis wins if set)."""
    media_dir: Path = Path("var/media")
    """Where photos people send (for reports) are kept, when the channel's copy expires (WhatsApp)."""
    confidence_threshold: float = Field(default=0.45, ge=0.0, le=1.0)
    location_max_age_s: float = Field(default=3600.0, gt=0)
    """How long a shared location is used for later "nearest" questions (``DALIL_LOCATION_MAX_AGE_S``)."""
    handoff_max_s: float = Field(default=1800.0, gt=0)
    """A hand-off nobody picked up releases itself after this long (``DALIL_HANDOFF_MAX_S``)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    now: datetime | None = None
    """Pinned clock (``DALIL_NOW``) for tests and demos: aware Riyadh time."""
    telegram_bot_token: SecretStr | None = _env("TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org", validation_alias=AliasChoices("TELEGRAM_API_BASE_URL")
    )
    telegram_webhook_secret: SecretStr | None = _env("TELEGRAM_WEBHOOK_SECRET")
    whatsapp_token: SecretStr | None = _env("WHATSAPP_TOKEN")
    whatsapp_phone_number_id: str | None = _env("WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_app_secret: SecretStr | None = _env("WHATSAPP_APP_SECRET")
    whatsapp_verify_token: SecretStr | None = _env("WHATSAPP_VERIFY_TOKEN")
    whatsapp_api_base_url: str = Field(
        default="https://graph.facebook.com/v25.0", validation_alias=AliasChoices("WHATSAPP_API_BASE_URL")
    )
    """The Graph API root including its version (v25.0 is served until 2028-07-29; v21.0 ends 2027-01-21)."""
    whatsapp_reengagement_template: str | None = None
    whatsapp_template_language: str = "ar"
    whatsapp_send_rate_per_s: float = Field(default=80.0, gt=0, le=1000)
    """Messages per second one process sends from the business number (Cloud API default: 80)."""
    opendata_dir: Path = Path("var/opendata")
    """``DALIL_OPENDATA_DIR``: synced open-data snapshots (OSM, Overture) that ``kb build`` merges."""
    overpass_url: str = overpass.DEFAULT_URL
    """``DALIL_OVERPASS_URL``: the Overpass API endpoint ``kb sync osm`` asks."""
    opendata_min_confidence: float = Field(default=DEFAULT_MIN_CONFIDENCE, ge=0.0, le=1.0)
    """Overture places below this existence confidence are not served."""
    inbox_lease_s: float = Field(default=30.0, gt=0, le=3600)
    """``DALIL_INBOX_LEASE_S``: a stored message not answered this long by the process that took it (it
    died, or lost the database) is answered by another, or after a restart."""
    admin_token: SecretStr | None = None
    """``DALIL_ADMIN_TOKEN``: bearer token for ``POST /admin/reload``; unset disables the admin API."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("now", mode="before")
    @classmethod
    def _pinned(cls, value: Any) -> Any:
        return parse_moment(value) if isinstance(value, str) else value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database(cls, value: Any) -> Any:
        return normalize_database_url(value) if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``config.yml`` in the working directory."""
        return init_settings, _Environment(settings_cls), ConfigSection(settings_cls)

    @classmethod
    def load(cls, config_path: Path | str = "config.yml", env: Mapping[str, str] | None = None) -> Settings:
        """Read ``config_path`` (if present), then apply the environment (``os.environ`` by default).

        Raises:
            SettingsError: a value is invalid; the message names the setting.
        """
        from_config = ConfigSection(cls, Path(config_path))()
        from_env = _Environment(cls, os.environ if env is None else env)()
        try:
            return cls.model_validate({**from_config, **from_env})
        except ValidationError as exc:
            raise SettingsError(_explain(exc, from_env)) from None


CONFIG_KEYS = {
    "data_dir": "data_dir",
    "log_level": "log_level",
    "nlu_engine": "nlu.engine",
    "rasa_url": "nlu.rasa_url",
    "model_dir": "nlu.model_dir",
    "confidence_threshold": "nlu.confidence_threshold",
    "location_max_age_s": "dialogue.location_max_age_s",
    "handoff_max_s": "dialogue.handoff_max_s",
    "whatsapp_reengagement_template": "whatsapp.reengagement_template",
    "whatsapp_template_language": "whatsapp.template_language",
    "whatsapp_send_rate_per_s": "whatsapp.send_rate_per_s",
    "opendata_dir": "opendata.dir",
    "overpass_url": "opendata.overpass_url",
    "opendata_min_confidence": "opendata.min_confidence",
}
"""Setting → its place under ``dalil:`` in ``config.yml``; the others come only from the environment."""


class ConfigSection(PydanticBaseSettingsSource):
    """The settings written under ``dalil:`` in ``config.yml`` (the rest of the file is Rasa's)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path = Path("config.yml")) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` reads the whole section at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """Field name → value for every setting the file gives (``null`` means "not given")."""
        if not self.path.exists():
            return {}
        document = YAML(typ="safe").load(self.path.read_text(encoding="utf-8")) or {}
        section = document.get("dalil") or {}
        values: dict[str, Any] = {}
        for name, key in CONFIG_KEYS.items():
            value: Any = section
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is not None:
                values[name] = value
        return values


class _Environment(EnvSettingsSource):
    """Environment variables from ``env`` (``os.environ`` by default); blank values count as unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        stripped = {name: value.strip() for name, value in self._env.items()}
        return parse_env_vars(stripped, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    alias = Settings.model_fields[field].validation_alias
    return str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"DALIL_{field.upper()}"


def _explain(exc: ValidationError, from_env: Mapping[str, Any]) -> str:
    """One sentence naming each bad key where it was set (environment variable or config.yml path)."""
    by_key = {env_name(name): name for name in Settings.model_fields} | {n: n for n in Settings.model_fields}
    problems = []
    for error in exc.errors():
        if not error["loc"]:
            continue
        field = by_key.get(str(error["loc"][0]), str(error["loc"][0]))
        where = (
            env_name(field)
            if field in from_env or env_name(field) in from_env or field not in CONFIG_KEYS
            else f"config.yml dalil.{CONFIG_KEYS[field]}"
        )
        shown = "" if field.endswith(("token", "secret")) else f" (got {error.get('input')!r})"
        problems.append(f"{where}: {error['msg']}{shown}")
    return "bad setting: " + "; ".join(problems)
