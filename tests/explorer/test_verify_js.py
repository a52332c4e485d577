"""The page's own checks (static/verify.js), run in Chromium, against the Python side they mirror:
SHA-256 (WebCrypto and the portable fallback), canonical msgpack, domain tags, block header and vote
bytes, validator-set hashes, Merkle roots and proofs, transactions and Ed25519."""

from __future__ import annotations

import hashlib
import io
import random
import tokenize
from pathlib import Path
from typing import Any

import msgspec
from explorer_helpers import Alliance, Seed

from alliance import codec
from alliance.abi import passes
from alliance.cli.keyring import load_named_key
from alliance.contracts import engine
from alliance.crypto import merkle
from alliance.crypto.hashing import Domain
from alliance.crypto.keys import NodeKey
from alliance.ledger.block import Header, VoteType, vote_sign_bytes
from alliance.ledger.transaction import Transaction, tx_hash
from alliance.ledger.validators import Validator, ValidatorSet
from alliance.sdk import Client
from alliance.sdk import contracts as sdk_contracts

# Values travel to the page as tagged JSON: bytes as hex, integers as text (BigInt past 2^53).
TO_JS = """
const revive = (x) => {
  if (x.t === "int") {
    const n = BigInt(x.v);
    const safe = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER);
    return safe ? Number(n) : n;
  }
  if (x.t === "bytes") return v.hexToBytes(x.v);
  if (x.t === "list") return x.v.map(revive);
  return x.v;
};
"""


def tagged(value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {"t": "plain", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, bytes):
        return {"t": "bytes", "v": value.hex()}
    return {"t": "list", "v": [tagged(v) for v in value]}


def run_js(page: Any, body: str, arg: Any = None) -> Any:
    script = (
        "async (arg) => { const app = document.querySelector('script[type=module]').src;"
        f" const v = await import(app.replace(/app\\.js$/, 'verify.js')); {TO_JS} {body} }}"
    )
    return page.evaluate(script, arg)


def open_blank(page: Any, chain: Alliance) -> None:
    page.goto(chain.urls[0] + "/search?q=", wait_until="networkidle")


def test_sha256_matches_python_in_webcrypto_and_the_portable_fallback(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    rng = random.Random(7)
    samples = [
        bytes(rng.randrange(256) for _ in range(n)) for n in (0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000)
    ]
    answers = run_js(
        page,
        "const out = []; for (const hex of arg) { const b = v.hexToBytes(hex);"
        " out.push([v.bytesToHex(await v.sha256(b)), v.bytesToHex(v.sha256Portable(b))]); } return out;",
        [s.hex() for s in samples],
    )
    for sample, (web, portable) in zip(samples, answers, strict=True):
        assert web == portable == hashlib.sha256(sample).hexdigest()


def test_domain_tags_are_the_python_ones(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    tags = run_js(page, "return v.DOMAINS;")
    for name, tag in tags.items():
        assert Domain[name].value == tag.encode("latin-1")


def test_msgpack_encoding_is_canonical_like_the_codec(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    ints = [
        0,
        1,
        127,
        128,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        2**53 - 1,
        2**53 + 1,
        2**64 - 1,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -(2**31),
        -(2**31) - 1,
        -(2**63),
    ]
    texts = ["", "a" * 31, "a" * 32, "é" * 127, "é" * 128, "x" * 255, "x" * 256, "y" * 70_000]
    blobs = [b"", b"\x00" * 255, b"\x01" * 256, b"\x02" * 70_000]
    lists = [[], list(range(15)), list(range(16)), [[1, "a"], [b"\x07", True, None, False]]]
    values: list[Any] = [*ints, *texts, *blobs, *lists, True, False, None]
    encoded = run_js(
        page,
        "return arg.map((x) => v.bytesToHex(v.encode(revive(x))));",
        [tagged(x) for x in values],
    )
    for value, js in zip(values, encoded, strict=True):
        assert js == msgspec.msgpack.encode(value).hex(), value
    # And back: the decoder reads what the encoder wrote.
    round_trip = run_js(
        page,
        "return arg.map((x) => {"
        " const b = v.encode(revive(x)); return v.bytesToHex(v.encode(v.decode(b))); });",
        [tagged(x) for x in values],
    )
    assert round_trip == encoded


def test_block_header_vote_and_validator_set_bytes_match_the_ledger(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    open_blank(page, chain)
    block = chain.get(f"/v1/blocks/{seed.transfer_height}")
    header = Header(
        chain_id=block["chain_id"],
        height=block["height"],
        time_ms=block["time_ms"],
        prev_block_hash=bytes.fromhex(block["prev_block_hash"]),
        tx_root=bytes.fromhex(block["tx_root"]),
        app_hash=bytes.fromhex(block["app_hash"]),
        last_results_hash=bytes.fromhex(block["last_results_hash"]),
        validators_hash=bytes.fromhex(block["validators_hash"]),
        proposer=bytes.fromhex(block["proposer"]),
        last_commit_hash=bytes.fromhex(block["last_commit_hash"]),
    )
    status = chain.get("/v1/status")
    validators = ValidatorSet.of(
        [Validator(bytes.fromhex(x["node_id"]), x["power"]) for x in status["validators"]]
    )
    cert = block["certificate"]
    answer = run_js(
        page,
        "const [block, validators] = arg; const c = block.certificate; return {"
        " header: v.bytesToHex(v.headerBytes(block)), hash: await v.headerHash(block),"
        " vote: v.bytesToHex(v.voteSignBytes("
        "   block.chain_id, v.VOTE_PRECOMMIT, c.height, c.round, c.block_hash)),"
        " validators: await v.validatorsHash(validators), check: await v.checkBlock(block, validators) };",
        [block, status["validators"]],
    )
    assert answer["header"] == codec.encode(header).hex()
    assert answer["hash"] == header.hash().hex() == block["hash"]
    expected_vote = vote_sign_bytes(
        block["chain_id"],
        VoteType.PRECOMMIT,
        cert["height"],
        cert["round"],
        bytes.fromhex(cert["block_hash"]),
    )
    assert answer["vote"] == expected_vote.hex()
    assert answer["validators"] == validators.hash().hex() == block["validators_hash"]
    check = answer["check"]
    assert check["headerOk"] and check["certificateForBlock"] and check["setMatches"] and check["quorum"]
    assert all(s["valid"] for s in check["signers"])
    assert check["signedPower"] == validators.total_power


def test_ed25519_verification_agrees_with_the_node_keys(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    key = NodeKey(bytes(range(32)))
    message = b"alliance explorer"
    signature = key.sign(message)
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    answer = run_js(
        page,
        "const [pk, good, bad, msg] = arg; const m = v.hexToBytes(msg); return ["
        " await v.verifyEd25519(pk, good, m), await v.verifyEd25519(pk, bad, m),"
        " await v.verifyEd25519('00'.repeat(31) + '01', good, m)];",
        [key.node_id.hex(), signature.hex(), forged.hex(), message.hex()],
    )
    assert answer == [True, False, False]


def test_merkle_roots_and_proofs_match_the_python_tree(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    rng = random.Random(11)
    lists = [
        [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 90))) for _ in range(n)]
        for n in (*range(18), 33)
    ]
    proofs = [
        [
            [p.index, p.total, [s.hex() for s in p.siblings]]
            for p in (merkle.prove(items, i) for i in range(len(items)))
        ]
        for items in lists
    ]
    answer = run_js(
        page,
        "const out = []; for (const [items, proofs] of arg) { const raw = items.map(v.hexToBytes);"
        " const root = v.bytesToHex(await v.merkleRoot(raw)); const folded = [];"
        " for (const [i, total, siblings] of proofs) {"
        "  const r = await v.proofRoot(raw[i], i, total, siblings.map(v.hexToBytes));"
        "  const elsewhere = (i + 1) % total;"
        "  const moved = total > 1"
        "    ? await v.proofRoot(raw[i], elsewhere, total, siblings.map(v.hexToBytes)) : null;"
        "  folded.push([r && v.bytesToHex(r), moved && v.bytesToHex(moved)]); }"
        " out.push([root, folded]); } return out;",
        [[[x.hex() for x in items], p] for items, p in zip(lists, proofs, strict=True)],
    )
    for items, (root, folded) in zip(lists, answer, strict=True):
        assert root == merkle.merkle_root(items).hex()
        for at_index, moved in folded:
            assert at_index == root  # every proof leads to the root
            assert moved != root  # and cannot be moved to another position


def test_a_signed_transaction_is_read_and_hashed_like_the_node(
    page: Any, chain: Alliance, seed: Seed
) -> None:
    open_blank(page, chain)
    with Client(chain.urls[0]) as client:
        raw = client.sign_transfer(load_named_key(chain.directory, "dev"), bytes(20), 3)
    tx = codec.decode(Transaction, raw)
    answer = run_js(
        page,
        "const t = await v.readTransaction(v.hexToBytes(arg));"
        " return [t.hash, t.target, t.method, t.sender, t.validUntil, t.chainId,"
        "   v.bytesToHex(v.encode(t.decodedArgs))];",
        raw.hex(),
    )
    assert answer == [
        tx_hash(tx).hex(),
        "accounts",
        "transfer",
        tx.body.sender.hex(),
        tx.body.valid_until,
        tx.body.chain_id,
        tx.body.call.args.hex(),
    ]


def test_fingerprints_and_the_portable_path_without_webcrypto(page: Any, chain: Alliance, seed: Seed) -> None:
    open_blank(page, chain)
    der = chain.get("/v1/gov")["members"][0]["ca_certificate"]
    block = chain.get(f"/v1/blocks/{seed.transfer_height}")
    status = chain.get("/v1/status")
    # As on a plain-http address: no WebCrypto. Hashes still check (portable SHA-256); signatures are
    # reported as not checked, never as valid.
    answer = run_js(
        page,
        "const [der, block, validators] = arg; const fp = await v.fingerprint(der);"
        " Object.defineProperty(globalThis.crypto, 'subtle', { get: () => undefined, configurable: true });"
        " const check = await v.checkBlock(block, validators);"
        " return [fp, v.webCryptoAvailable(), await v.fingerprint(der), check];",
        [der, block, status["validators"]],
    )
    digest = hashlib.sha256(bytes.fromhex(der)).hexdigest().upper()
    expected = ":".join(digest[i : i + 2] for i in range(0, 64, 2))
    fingerprint, available, portable, check = answer
    assert fingerprint == portable == expected
    assert available is False
    assert check["headerOk"] and check["setMatches"]
    assert check["quorum"] is None and all(s["valid"] is None for s in check["signers"])


def run_module(page: Any, module: str, body: str, arg: Any = None) -> Any:
    """``body`` with the explorer module ``module`` (a path under static/) as ``m`` and verify.js as ``v``."""
    script = (
        "async (arg) => { const app = document.querySelector('script[type=module]').src;"
        " const v = await import(app.replace(/app\\.js$/, 'verify.js'));"
        f" const m = await import(app.replace(/app\\.js$/, '{module}')); {body} }}"
    )
    return page.evaluate(script, arg)


EXAMPLE_SOURCES = sorted((Path(__file__).resolve().parents[2] / "examples" / "contracts").glob("*.py"))


def test_code_and_rights_hashes_match_the_chains(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    sources = [p.read_text() for p in EXAMPLE_SOURCES] + ["x = 'é ✓ 中'\n"]
    hashes = run_js(page, "return Promise.all(arg.map((s) => v.contractCodeHash(s)));", sources)
    assert hashes == [engine.code_hash(s).hex() for s in sources]
    texts = ["One GOLD is one gram.", "Des droits: café ✓", ""]
    rights = run_js(page, "return Promise.all(arg.map((s) => v.rightsHash(s)));", texts)
    assert rights == [passes.rights_hash(t).hex() for t in texts]


def test_maps_encode_as_msgspec_writes_a_dict_in_its_order(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    encoded = run_js(
        page,
        "const m = new Map([['b', 1], ['a', [v.hexToBytes('00ff')]], ['c', new Map([[1, 'x']])]]);"
        " const big = new Map(Array.from({length: 20}, (_, i) => [`k${i}`, i]));"
        " return [v.bytesToHex(v.encode(m)), v.bytesToHex(v.encode(big))];",
    )
    assert encoded == [
        msgspec.msgpack.encode({"b": 1, "a": [b"\x00\xff"], "c": {1: "x"}}).hex(),
        msgspec.msgpack.encode({f"k{i}": i for i in range(20)}).hex(),
    ]


def python_tokens(source: str) -> list[tuple[str, str]]:
    """Python's own comments, strings and numbers in ``source`` (an f-string whole, as 3.11 gives it:
    3.12 tokenizes one in parts, FSTRING_START to FSTRING_END)."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    found: list[tuple[str, str]] = []
    start: tuple[int, int] | None = None
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        name = tokenize.tok_name[t.type]
        if name == "FSTRING_START":
            start = t.start
        elif name == "FSTRING_END" and start is not None:
            begin = offsets[start[0] - 1] + start[1]
            found.append(("STRING", source[begin : offsets[t.end[0] - 1] + t.end[1]]))
            start = None
        elif start is None and name in ("COMMENT", "STRING", "NUMBER"):
            found.append((name, t.string))
    return found


def test_the_highlighter_gives_back_every_character_and_tells_pythons_tokens_apart(
    page: Any, chain: Alliance
) -> None:
    open_blank(page, chain)
    sources = [p.read_text() for p in EXAMPLE_SOURCES]
    tricky = (
        'x = "a\\"b" + rb\'\\x00\' # not "a string"\n'
        's = """multi\nline # not a comment\n"""\n'
        "@view\ndef f(): return 0x1F + 1_000 + .5e3j\n"
    )
    sources.append(tricky)  # (no f-string: Python 3.12 tokenizes those in parts)
    tokens = run_module(page, "pages/highlight.js", "return arg.map((s) => m.tokenize(s));", sources)
    for source, found in zip(sources, tokens, strict=True):
        assert "".join(t["text"] for t in found) == source  # every character, once, in order
        expected = python_tokens(source)
        kinds = {"comment": "COMMENT", "string": "STRING", "number": "NUMBER"}
        ours = [(kinds[t["kind"]], t["text"]) for t in found if t["kind"] in kinds]
        assert ours == expected
    keywords = {t["text"] for t in tokens[-1] if t["kind"] == "keyword"}
    assert keywords == {"def", "return"} and {"kind": "decorator", "text": "@view"} in tokens[-1]
    assert {"kind": "def", "text": "f"} in tokens[-1]


def test_abi_typed_arguments_encode_as_the_sdk_types_them(page: Any, chain: Alliance) -> None:
    open_blank(page, chain)
    params = [
        {"name": "who", "type": "Address"}, {"name": "n", "type": "int"}, {"name": "big", "type": "int"},
        {"name": "blob", "type": "bytes"}, {"name": "ok", "type": "bool"}, {"name": "label", "type": "str"},
        {"name": "xs", "type": "list[int]"}, {"name": "pair", "type": "tuple[str, Address]"},
        {"name": "many", "type": "tuple[bytes, ...]"}, {"name": "table", "type": "dict[str, list[int]]"},
    ]  # fmt: skip
    who = "0x" + "ab" * 20
    values = [who, -7, str(2**62), "0x00ff10", True, "café", [1, 2, 3], ["x", who], ["01", "0203"],
              {"b": [1], "a": []}]  # fmt: skip
    answer = run_module(
        page,
        "pages/abi.js",
        "const out = arg.params.map((p, i) => m.valueOf(m.parseType(p.type), arg.values[i], p.name));"
        " return {hex: v.bytesToHex(v.encode(out.map((x) => x.encoded))), json: out.map((x) => x.json)};",
        {"params": params, "values": values},
    )
    method = {"name": "f", "params": params}
    assert answer["hex"] == sdk_contracts.typed_args(method, [*values[:2], 2**62, *values[3:]]).hex()
    # What the console is sent: JSON values the SDK types again the same way.
    again = sdk_contracts.typed_args(method, [*answer["json"][:2], 2**62, *answer["json"][3:]])
    assert again.hex() == answer["hex"]
    refused = run_module(
        page,
        "pages/abi.js",
        "try { m.valueOf(m.parseType('Address'), '0x1234', 'owner'); } catch (e) { return e.message; }",
    )
    assert refused.startswith("owner is an address")
