"""The explorer mounted on a node's API: its pages and assets, and the API left as it was."""

from __future__ import annotations

import re

import httpx
import pytest
from explorer_helpers import Alliance

from alliance.explorer import PAGE_PATHS
from alliance.explorer.pages import ASSET_PREFIX, Site, load_assets


def test_every_page_path_answers_the_shell_with_a_same_origin_policy(chain: Alliance) -> None:
    base = chain.urls[0]
    examples = {
        "{height}": "3", "{tx_hash}": "ab" * 32, "{address}": "0x" + "11" * 20, "{proposal_id}": "1",
        "{symbol}": "GOLD", "{name}": "token",
    }  # fmt: skip
    for template in PAGE_PATHS:
        path = template
        for name, value in examples.items():
            path = path.replace(name, value)
        answer = httpx.get(base + path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html")
        policy = answer.headers["content-security-policy"]
        assert (
            "default-src 'none'" in policy
            and "connect-src 'self'" in policy
            and "script-src 'self'" in policy
        )
        assert 'data-mode="explorer"' in answer.text
    # The console's page is the console's alone.
    assert httpx.get(base + "/console").status_code == 404


def test_assets_are_served_from_the_package_under_their_version(chain: Alliance) -> None:
    base = chain.urls[0] + Site().asset_base + "/"
    assets = load_assets()
    assert {"app.js", "verify.js", "style.css", "pages/tx.js"} <= set(assets)
    for name, asset in assets.items():
        if name == "index.html":
            continue
        answer = httpx.get(base + name)
        assert answer.status_code == 200 and answer.content == asset.body
        assert "immutable" in answer.headers["cache-control"]  # the URL names the content
    assert httpx.get(base + "app.js").headers["content-type"].startswith("text/javascript")
    # The shell names this version's assets, and is itself revalidated on every load.
    shell = httpx.get(chain.urls[0] + "/")
    assert f'src="{Site().asset_base}/app.js"' in shell.text
    assert shell.headers["cache-control"] == "no-cache"
    assert httpx.get(chain.urls[0] + "/", headers={"if-none-match": shell.headers["etag"]}).status_code == 304
    # Another version's URLs answer nothing: a page cannot mix old scripts with new ones.
    assert httpx.get(chain.urls[0] + ASSET_PREFIX + "0123456789abcdef/app.js").status_code == 404
    # The shell preloads every module, so the browser fetches them at once.
    template = assets["index.html"].body.decode()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="\{\{ASSETS\}\}/([^"]+)">', template))
    assert preloaded == {name for name in assets if name.endswith(".js")}


@pytest.mark.parametrize("name", ["nothing.js", "../pyproject.toml", "index.html", "%2e%2e/service.py"])
def test_only_shipped_files_are_served(chain: Alliance, name: str) -> None:
    answer = httpx.get(chain.urls[0] + Site().asset_base + "/" + name)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_api_keeps_its_routes_its_errors_and_its_document(chain: Alliance) -> None:
    base = chain.urls[0]
    assert httpx.get(base + "/v1/status").json()["height"] >= 1
    assert "alliance_height" in httpx.get(base + "/metrics").text
    assert httpx.get(base + "/docs").status_code == 200
    paths = httpx.get(base + "/openapi.json").json()["paths"]
    assert "/v1/status" in paths
    pages = ("/explorer", "/blocks", "/txs", "/accounts", "/search", "/passes", "/contracts")
    assert not any(p == "/" or p.startswith(pages) for p in paths)
    missing = httpx.get(base + "/v1/nothing")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert httpx.get(base + "/blocks/").status_code == 404  # no redirects, as for the API
