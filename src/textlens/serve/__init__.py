"""`textlens serve`: a local web dashboard over analysis and corpus runs.

A FastAPI app (`app.create_app`) over the runs' DuckDB stores and a static single-page UI shipped
in `static/` (a small WebGL point renderer, no CDN). Heavy imports (fastapi, duckdb, pandas) live
inside the modules of this package, which only the `serve` and `export-labels` commands import.
"""
