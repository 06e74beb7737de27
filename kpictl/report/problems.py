"""Problems (KpiError lists) rendered for people, tools and CI annotators: text, json, sarif, github."""

from __future__ import annotations

import json
import posixpath
from typing import Any

from kpictl.errors import MAX_SHOWN, KpiError
from kpictl.report import escape, formats

FORMATS = formats.PROBLEMS


def render(errors: list[KpiError], fmt: str = "text", *, summary: str = "", base: str = "") -> str:
    """The problems in ``fmt``; ``summary`` is the text line shown when there are none.

    ``base`` is the project folder relative to the repository root (or to where CI runs): the
    github and sarif formats prefix it to file paths, which CI resolves from the repository
    root, so that a project in a subfolder still annotates the right file.
    """
    if fmt in ("github", "sarif") and base.strip("./"):
        prefix = posixpath.normpath(base.replace("\\", "/")) + "/"
        errors = [_rebased(e, prefix) for e in errors]
    return {"text": _text, "json": _json, "sarif": _sarif, "github": _github}[fmt](errors, summary)


def _rebased(error: KpiError, prefix: str) -> KpiError:
    import copy
    import dataclasses

    moved = copy.copy(error)
    moved.at = dataclasses.replace(error.at, file=prefix + (error.at.file or "kpictl.yml"))
    return moved


def _text(errors: list[KpiError], summary: str) -> str:
    if not errors:
        return summary
    lines = [escape.line(e) for e in errors[:MAX_SHOWN]]  # a name or file name cannot start a line
    if len(errors) > MAX_SHOWN:
        lines.append(f"… and {len(errors) - MAX_SHOWN} more")
    lines.append(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found")
    return "\n".join(lines)


def _json(errors: list[KpiError], summary: str) -> str:
    body: dict[str, Any] = {"ok": not errors, "errors": [e.to_dict() for e in errors]}
    if summary and not errors:
        body["summary"] = summary
    return json.dumps(body, indent=2, ensure_ascii=False)


def _github(errors: list[KpiError], summary: str) -> str:
    """GitHub Actions workflow commands: each problem annotates its line in the pull request."""

    def esc(text: str, prop: bool = False) -> str:  # escapes of @actions/core's issueCommand
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    lines = []
    for e in errors:
        props = [f"file={esc(e.at.file, True)}"] if e.at.file else []
        if e.at.line:
            props.append(f"line={e.at.line}")
        if e.at.column:
            props.append(f"col={e.at.column}")
        props.append("title=kpictl")
        text = e.message + (f" ({e.hint})" if e.hint else "")
        lines.append(f"::error {','.join(props)}::{esc(text)}")
    return "\n".join(lines) if lines else summary


def _sarif(errors: list[KpiError], summary: str) -> str:
    """SARIF 2.1.0, the format code-scanning tools (GitHub, GitLab, Azure) read."""
    from kpictl import __version__

    results = []
    for e in errors:
        region = {"startLine": e.at.line or 1}
        if e.at.column:
            region["startColumn"] = e.at.column
        results.append(
            {
                "ruleId": f"kpictl/{e.kind}",
                "level": "error",
                "message": {"text": e.message + (f" ({e.hint})" if e.hint else "")},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": e.at.file or "kpictl.yml"}, "region": region}}
                ],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kpictl",
                        "version": __version__,
                        "informationUri": "https://github.com/kpictl/kpictl",
                        "rules": [{"id": f"kpictl/{k}"} for k in ("spec", "data")],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)
