"""`--where`: select documents by a SQL filter expression on their metadata, run by DuckDB.

Only a filter expression is accepted: DuckDB's own tokenizer splits it, and every keyword must
be one a boolean expression uses (AND, OR, NOT, IN, BETWEEN, LIKE, IS, NULL, CASE ...), every
name a metadata column or a call to an allowed scalar function, and there is no `;` or comment.
It then runs on an in-memory database holding only the metadata, with external access off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textlens.errors import DataError

_KEYWORDS = {"and", "or", "not", "in", "between", "like", "ilike", "is", "null", "true", "false",
             "case", "when", "then", "else", "end", "cast", "as", "integer", "varchar", "double",
             "bigint", "date", "glob", "similar", "to", "escape"}
_FUNCTIONS = {"lower", "upper", "length", "substr", "substring", "starts_with", "ends_with",
              "contains", "regexp_matches", "trim", "abs", "round", "coalesce", "strlen",
              "left", "right", "year", "cast", "concat", "prefix", "suffix", "least", "greatest"}


def check_filter(where: str, columns: Sequence[str]) -> None:
    """Refuse anything but a filter expression over `columns` (before any work is done)."""
    import duckdb

    fix = ("pass a filter expression over the metadata columns "
           f"({', '.join(columns)}), e.g. \"country IN ('USA','FRA') AND year >= 2018\".")
    if not where.strip():
        raise DataError("--where is empty.", fix)
    try:
        tokens = duckdb.tokenize(where)
    except Exception as exc:  # noqa: BLE001 - the tokenizer's own error text is the message
        raise DataError(f"--where {where!r} cannot be read: {exc}.", fix) from exc
    known = {c.lower() for c in columns}
    for n, (start, kind) in enumerate(tokens):
        end = tokens[n + 1][0] if n + 1 < len(tokens) else len(where)
        word = where[start:end].strip()
        name = kind.name if hasattr(kind, "name") else str(kind)
        if name == "comment" or ";" in word and name == "operator":
            raise DataError(f"--where {where!r} holds a comment or `;`: only one filter "
                            "expression is accepted.", fix)
        if name in ("keyword", "identifier") and word.strip('"').lower() in known:
            continue  # a column, even one named like a keyword (`year`)
        if name == "keyword" and word.lower() not in _KEYWORDS:
            raise DataError(f"--where {where!r} uses '{word}', which is not part of a filter "
                            "expression (no SELECT, subqueries or other statements).", fix)
        if name == "identifier":
            bare = word.strip('"').lower()
            is_call = where[end:].lstrip().startswith("(") or (
                n + 1 < len(tokens) and where[tokens[n + 1][0]] == "(")
            if is_call and bare not in _FUNCTIONS:
                raise DataError(f"--where calls '{word}', which is not an allowed function.",
                                f"use columns and these functions: {', '.join(sorted(_FUNCTIONS))}.")
            if not is_call and bare not in known:
                raise DataError(f"--where names '{word}', which is not a metadata column.", fix)


def filter_documents(frame: Any, where: str) -> list[str]:
    """doc_ids of the rows of `frame` (a pandas frame with doc_id) where `where` holds."""
    import duckdb

    check_filter(where, [c for c in frame.columns])
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        con.register("documents", frame)
        result = con.execute(f"SELECT doc_id FROM documents WHERE ({where})").fetchall()
    except duckdb.Error as exc:
        raise DataError(f"--where {where!r} failed on the metadata: {exc}",
                        "check the column names and value types (text values in single quotes, "
                        "numbers bare); the error names the columns."
                        ) from exc
    finally:
        con.close()
    return [str(r[0]) for r in result]
