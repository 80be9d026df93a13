"""The watcher's engine holder: one engine, reopened when the day or a rule/spec file changes."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from claimflow.settings import load_settings


def test_engine_is_reopened_on_a_new_day_or_a_changed_rule_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.watch

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text("x")
    opened: list[object] = []

    class FakeEngine:
        closed = False
        preloaded = False

        @classmethod
        def open(cls, settings: object, *, preload: bool = False) -> FakeEngine:
            engine = cls()
            engine.preloaded = preload
            opened.append(engine)
            return engine

        def close(self) -> None:
            self.closed = True

    today = [date(2026, 12, 31)]

    class Day:
        @staticmethod
        def today() -> date:
            return today[0]

    monkeypatch.setattr(flows.watch, "Engine", FakeEngine)
    monkeypatch.setattr(flows.watch, "date", Day)
    holder = flows.watch.EngineHolder(load_settings(home=tmp_path / "home", rules=rules, extractors=tmp_path))
    first = holder.get()
    assert holder.get() is first and len(opened) == 1
    assert first.preloaded  # type: ignore[attr-defined]  # the watcher's engine loads its OCR models ahead
    today[0] = date(2027, 1, 1)  # a new rule-set version may be in force
    second = holder.get()
    assert second is not first and first.closed  # type: ignore[attr-defined]
    os.utime(rules / "r.yml", (1, 1))
    assert holder.get() is not second and len(opened) == 3
    holder.close()
    assert opened[-1].closed  # type: ignore[attr-defined]
