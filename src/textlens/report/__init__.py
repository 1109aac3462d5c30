"""Reports: HTML pages, plots and terminal renderings of textlens results."""
