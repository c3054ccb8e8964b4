"""Validation of a send the way Meta does it: code 100 for a missing parameter, 131009 for a bad value."""

from __future__ import annotations

import math
import re
from typing import Any

MESSAGE_TYPES = ("text", "interactive", "location", "template")
INTERACTIVE_TYPES = ("button", "list", "location_request_message", "cta_url")


class RequestError(Exception):
    """A send Meta refuses: a Cloud API error ``code`` and the ``details`` Graph gives for it."""

    def __init__(self, code: int, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.status = status


def _obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        raise RequestError(100, f"The parameter {path} is required.")
    if not isinstance(value, dict):
        raise RequestError(131009, f"{path} must be a JSON object.")
    return value


def _list(parent: dict[str, Any], key: str, path: str, least: int, most: int) -> list[Any]:
    value = parent.get(key)
    if value is None:
        raise RequestError(100, f"The parameter {path} is required.")
    if not isinstance(value, list):
        raise RequestError(131009, f"{path} must be a JSON array.")
    if not least <= len(value) <= most:
        raise RequestError(131009, f"{path} has {len(value)} items; it must have {least} to {most}.")
    return value


def _str(parent: dict[str, Any], key: str, path: str, most: int | None = None, required: bool = True) -> str:
    value = parent.get(key)
    if value is None:
        if required:
            raise RequestError(100, f"The parameter {path} is required.")
        return ""
    if not isinstance(value, str):
        raise RequestError(131009, f"{path} must be a string.")
    if required and not value:
        raise RequestError(131009, f"{path} must not be empty.")
    if most is not None and len(value) > most:
        raise RequestError(131009, f"{path} is too long: {len(value)} characters; the maximum is {most}.")
    return value


def _number(parent: dict[str, Any], key: str, path: str, bound: float) -> None:
    value = parent.get(key)
    if value is None:
        raise RequestError(100, f"The parameter {path} is required.")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(131009, f"{path} must be a number.")
    try:
        number = float(value)
    except ValueError:
        raise RequestError(131009, f"{path} must be a number.") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise RequestError(131009, f"{path} is out of range: {value}; it must be within ±{bound:g}.")


def check_read(body: dict[str, Any]) -> None:
    if body["status"] != "read":
        raise RequestError(131009, "Param status must be 'read'.")
    _str(body, "message_id", "message_id")
    if "typing_indicator" in body:
        indicator = _obj(body, "typing_indicator", "typing_indicator")
        if indicator.get("type") != "text":
            raise RequestError(131009, "typing_indicator['type'] must be 'text'.")


def check_message(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a message send; returns the ``contacts`` item of the answer."""
    recipient_type = body.get("recipient_type")
    if recipient_type is not None and recipient_type != "individual":
        raise RequestError(131009, "Param recipient_type must be 'individual'.")
    contact = _check_recipient(body)
    kind = body.get("type")
    if kind is None:
        raise RequestError(100, "The parameter type is required.")
    if kind not in MESSAGE_TYPES:
        raise RequestError(131009, f"Param type must be one of {list(MESSAGE_TYPES)}; got {kind!r}.")
    content = _obj(body, kind, kind)
    if kind == "text":
        _str(content, "body", "text['body']", 4096)
        if "preview_url" in content and not isinstance(content["preview_url"], bool):
            raise RequestError(131009, "text['preview_url'] must be a boolean.")
    elif kind == "location":
        _number(content, "latitude", "location['latitude']", 90)
        _number(content, "longitude", "location['longitude']", 180)
        _str(content, "name", "location['name']", required=False)
        _str(content, "address", "location['address']", required=False)
    elif kind == "template":
        _str(content, "name", "template['name']", 512)
        _str(_obj(content, "language", "template['language']"), "code", "template['language']['code']")
        if "components" in content and not isinstance(content["components"], list):
            raise RequestError(131009, "template['components'] must be a JSON array.")
    else:
        _check_interactive(content)
    return contact


def _check_recipient(body: dict[str, Any]) -> dict[str, Any]:
    to, recipient = body.get("to"), body.get("recipient")
    if to is None and recipient is None:
        raise RequestError(100, "The parameter to is required.")
    contact: dict[str, Any] = {}
    if to is not None:
        if not isinstance(to, str) or not re.fullmatch(r"\+?[\d\s().-]{5,}", to):
            raise RequestError(131009, f"Param to must be a phone number; got {to!r}.")
        contact = {"input": to, "wa_id": re.sub(r"\D", "", to)}
    if recipient is not None:
        if not isinstance(recipient, str) or not re.fullmatch(r"[A-Z]{2}\.[A-Za-z0-9]+", recipient):
            raise RequestError(
                131009, f"Param recipient must be a business-scoped user id; got {recipient!r}."
            )
        contact.setdefault("input", recipient)
        contact["user_id"] = recipient
    return contact


def _check_interactive(content: dict[str, Any]) -> None:
    kind = content.get("type")
    if kind is None:
        raise RequestError(100, "The parameter interactive['type'] is required.")
    if kind not in INTERACTIVE_TYPES:
        raise RequestError(
            131009, f"interactive['type'] must be one of {list(INTERACTIVE_TYPES)}; got {kind!r}."
        )
    body_limit = 4096 if kind == "list" else 1024
    _str(_obj(content, "body", "interactive['body']"), "text", "interactive['body']['text']", body_limit)
    if "header" in content:
        header = _obj(content, "header", "interactive['header']")
        header_type = header.get("type")
        if header_type == "text":
            _str(header, "text", "interactive['header']['text']", 60)
        elif header_type in ("image", "video", "document") and kind != "list":
            media = _obj(header, header_type, f"interactive['header']['{header_type}']")
            if not (media.get("id") or media.get("link")):
                raise RequestError(
                    100, f"The parameter interactive['header']['{header_type}']['id'] is required."
                )
        else:
            raise RequestError(131009, f"interactive['header']['type'] {header_type!r} is not valid here.")
    if "footer" in content:
        _str(_obj(content, "footer", "interactive['footer']"), "text", "interactive['footer']['text']", 60)
    action = _obj(content, "action", "interactive['action']")
    if kind == "button":
        _check_buttons(action)
    elif kind == "list":
        _check_list(action)
    elif kind == "location_request_message":
        if action.get("name") != "send_location":
            raise RequestError(131009, "interactive['action']['name'] must be 'send_location'.")
    else:
        if action.get("name") != "cta_url":
            raise RequestError(131009, "interactive['action']['name'] must be 'cta_url'.")
        parameters = _obj(action, "parameters", "interactive['action']['parameters']")
        _str(parameters, "display_text", "interactive['action']['parameters']['display_text']", 20)
        url = _str(parameters, "url", "interactive['action']['parameters']['url']", 2000)
        if not url.startswith(("http://", "https://")):
            raise RequestError(
                131009, f"interactive['action']['parameters']['url'] is not a valid URL: {url!r}."
            )


def _check_buttons(action: dict[str, Any]) -> None:
    buttons = _list(action, "buttons", "interactive['action']['buttons']", 1, 3)
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(buttons):
        path = f"interactive['action']['buttons'][{i}]"
        if not isinstance(button, dict):
            raise RequestError(131009, f"{path} must be a JSON object.")
        if button.get("type") != "reply":
            raise RequestError(131009, f"{path}['type'] must be 'reply'.")
        reply = _obj(button, "reply", f"{path}['reply']")
        button_id = _str(reply, "id", f"{path}['reply']['id']", 256)
        title = _str(reply, "title", f"{path}['reply']['title']", 20)
        if button_id in ids:
            raise RequestError(131009, f"Duplicate button id {button_id!r}: button ids must be unique.")
        if title in titles:
            raise RequestError(131009, f"Duplicate button title {title!r}: button titles must be unique.")
        ids.add(button_id)
        titles.add(title)


def _check_list(action: dict[str, Any]) -> None:
    _str(action, "button", "interactive['action']['button']", 20)
    sections = _list(action, "sections", "interactive['action']['sections']", 1, 10)
    ids: set[str] = set()
    rows_total = 0
    for i, section in enumerate(sections):
        path = f"interactive['action']['sections'][{i}]"
        if not isinstance(section, dict):
            raise RequestError(131009, f"{path} must be a JSON object.")
        _str(section, "title", f"{path}['title']", 24, required=len(sections) > 1)
        rows = _list(section, "rows", f"{path}['rows']", 1, 10)
        rows_total += len(rows)
        for j, row in enumerate(rows):
            row_path = f"{path}['rows'][{j}]"
            if not isinstance(row, dict):
                raise RequestError(131009, f"{row_path} must be a JSON object.")
            row_id = _str(row, "id", f"{row_path}['id']", 200)
            _str(row, "title", f"{row_path}['title']", 24)
            _str(row, "description", f"{row_path}['description']", 72, required=False)
            if row_id in ids:
                raise RequestError(131009, f"Duplicate row id {row_id!r}: row ids must be unique.")
            ids.add(row_id)
    if rows_total > 10:
        raise RequestError(131009, f"The list has {rows_total} rows across its sections; the maximum is 10.")
