"""Progress bars: every item is yielded; nothing is drawn in CI or when output is redirected."""

import io
import sys

from tinytorch.setup import progress_enabled, track


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_track_yields_every_item_in_ci(monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled()
    assert list(track(range(100), description="ci")) == list(range(100))
    assert capsys.readouterr().out == ""


def test_track_is_silent_when_stdout_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    assert not progress_enabled()  # pytest captures stdout: not a terminal
    assert list(track(["a", "b"])) == ["a", "b"]
    assert capsys.readouterr().out == ""


def test_track_draws_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert progress_enabled()
    assert list(track(range(7), description="epochs", unit="batch")) == list(range(7))
    out = terminal.getvalue()
    assert "epochs" in out and "7/7" in out and "batch/s" in out


def test_track_unknown_length_and_early_stop(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    items = (i * i for i in range(5))  # a generator has no len()
    assert list(track(items, description="squares")) == [0, 1, 4, 9, 16]
    for i in track(range(1000)):  # breaking out closes the bar cleanly
        if i == 3:
            break
    assert "squares" in terminal.getvalue()
