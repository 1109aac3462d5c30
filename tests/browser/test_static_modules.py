"""The page's ES modules form a closed graph over the files the server ships: every import
names a shipped file and exports what is imported, and index.html preloads every module (no
browser needed; the browser tests check the modules run)."""

from __future__ import annotations

import re

from textlens.serve.app import static_files

IMPORT = re.compile(r'import\s*\{([^}]*)\}\s*from\s*"\./([\w.]+)"')
EXPORT = re.compile(r"export\s+(?:async\s+)?(?:function|class|const|let)\s+(\w+)")
EXPORT_LIST = re.compile(r"export\s*\{([^}]*)\}")


def _modules() -> dict[str, str]:
    return {name: body.decode() for name, (body, _) in static_files().items()
            if name.endswith(".js")}


def test_every_import_resolves_to_a_shipped_export():
    modules = _modules()
    exports = {name: set(EXPORT.findall(src)) | {n.strip() for group in EXPORT_LIST.findall(src)
                                               for n in group.split(",") if n.strip()}
               for name, src in modules.items()}
    seen = 0
    for name, src in modules.items():
        for names, target in IMPORT.findall(src):
            assert target in modules, f"{name} imports {target}, which the server does not ship"
            for imported in (n.strip().split(" as ")[0] for n in names.split(",") if n.strip()):
                assert imported in exports[target], f"{name}: {target} does not export {imported}"
                seen += 1
    assert seen > 20


def test_the_page_loads_one_module_entry_and_preloads_the_rest():
    files = static_files()
    page = files["index.html"][0].decode()
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script type="module" src="/static/app.js">']
    preloaded = set(re.findall(r'rel="modulepreload" href="/static/([\w.]+)"', page))
    assert preloaded | {"app.js"} == set(_modules())
