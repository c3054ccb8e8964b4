"""Dalil's settings: the ``dalil:`` section of ``config.yml``, overridden by environment variables.

Secrets (tokens, app secrets) come only from the environment and are held as ``SecretStr`` so they never
appear in logs or reprs. A bad value stops start-up with a sentence naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from ruamel.yaml import YAML

from knowledge.store import database_url

__all__ = ["Settings", "SettingsError"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the key."""


class Settings(BaseModel):
    """Every setting Dalil reads, validated at start-up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    database_url: str = Field(default_factory=database_url)
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
    """Pinned clock (``DALIL_NOW``) for tests and demos."""
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com/v25.0"
    """The Graph API root including its version (v25.0 is served until 2028-07-29; v21.0 ends 2027-01-21)."""
    whatsapp_reengagement_template: str | None = None
    whatsapp_template_language: str = "ar"
    whatsapp_send_rate_per_s: float = Field(default=80.0, gt=0, le=1000)
    """Messages per second one process sends from the business number (Cloud API default: 80)."""
    opendata_dir: Path = Path("var/opendata")
    """``DALIL_OPENDATA_DIR``: synced open-data snapshots (OSM, Overture) that ``kb build`` merges."""
    overpass_url: str = "https://overpass-api.de/api/interpreter"
    """``DALIL_OVERPASS_URL``: the Overpass API endpoint ``kb sync osm`` asks."""
    opendata_min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
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

    @classmethod
    def load(cls, config_path: Path | str = "config.yml", env: Mapping[str, str] | None = None) -> Settings:
        """Read ``config_path`` (if present), then apply the environment.

        Raises:
            SettingsError: a value is invalid; the message names the setting.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = Path(config_path)
        if path.exists():
            doc = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
            section = doc.get("dalil") or {}
            nlu = section.get("nlu") or {}
            whatsapp = section.get("whatsapp") or {}
            opendata = section.get("opendata") or {}
            values.update(
                {
                    "data_dir": section.get("data_dir"),
                    "log_level": section.get("log_level"),
                    "nlu_engine": nlu.get("engine"),
                    "rasa_url": nlu.get("rasa_url"),
                    "model_dir": nlu.get("model_dir"),
                    "confidence_threshold": nlu.get("confidence_threshold"),
                    "location_max_age_s": (section.get("dialogue") or {}).get("location_max_age_s"),
                    "handoff_max_s": (section.get("dialogue") or {}).get("handoff_max_s"),
                    "whatsapp_reengagement_template": whatsapp.get("reengagement_template"),
                    "whatsapp_template_language": whatsapp.get("template_language"),
                    "whatsapp_send_rate_per_s": whatsapp.get("send_rate_per_s"),
                    "opendata_dir": opendata.get("dir"),
                    "overpass_url": opendata.get("overpass_url"),
                    "opendata_min_confidence": opendata.get("min_confidence"),
                }
            )
        for name, var in _ENV.items():
            if env.get(var, "").strip():
                values[name] = env[var].strip()
        values["database_url"] = database_url(env)
        values = {k: v for k, v in values.items() if v is not None}
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_ENV.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors() if e["loc"]
            )
            raise SettingsError(f"bad setting: {problems}") from None


_ENV = {
    "data_dir": "DALIL_DATA_DIR",
    "redis_url": "DALIL_REDIS_URL",
    "nlu_engine": "DALIL_NLU_ENGINE",
    "rasa_url": "DALIL_RASA_URL",
    "model_dir": "DALIL_MODEL_DIR",
    "media_dir": "DALIL_MEDIA_DIR",
    "state_dir": "DALIL_STATE_DIR",
    "log_level": "DALIL_LOG_LEVEL",
    "now": "DALIL_NOW",
    "location_max_age_s": "DALIL_LOCATION_MAX_AGE_S",
    "handoff_max_s": "DALIL_HANDOFF_MAX_S",
    "telegram_bot_token": "TELEGRAM_BOT_TOKEN",
    "telegram_api_base_url": "TELEGRAM_API_BASE_URL",
    "telegram_webhook_secret": "TELEGRAM_WEBHOOK_SECRET",
    "whatsapp_token": "WHATSAPP_TOKEN",
    "whatsapp_phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "whatsapp_app_secret": "WHATSAPP_APP_SECRET",
    "whatsapp_verify_token": "WHATSAPP_VERIFY_TOKEN",
    "whatsapp_api_base_url": "WHATSAPP_API_BASE_URL",
    "admin_token": "DALIL_ADMIN_TOKEN",
    "opendata_dir": "DALIL_OPENDATA_DIR",
    "overpass_url": "DALIL_OVERPASS_URL",
    "opendata_min_confidence": "DALIL_OPENDATA_MIN_CONFIDENCE",
    "inbox_lease_s": "DALIL_INBOX_LEASE_S",
}
