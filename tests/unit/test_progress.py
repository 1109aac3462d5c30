"""Progress bars: one on stderr for real work, none for an empty step (a cached rerun)."""

from __future__ import annotations


def test_an_empty_step_draws_no_bar_and_real_work_does(monkeypatch, capsys):
    from textlens.progress import track

    monkeypatch.setenv("TEXTLENS_PROGRESS", "1")
    assert list(track([], "Embedding")) == []
    empty = capsys.readouterr().err
    assert "0/0" not in empty and "Embedding" not in empty
    assert list(track([1, 2, 3], "Embedding")) == [1, 2, 3]
    assert "3/3" in capsys.readouterr().err
