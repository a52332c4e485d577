"""The engine at run time: metering, failures, read-only views, the ABI, arguments, isolation."""

from __future__ import annotations

import tracemalloc

import msgspec
import pytest
from memory_host import TX_GAS_MAX, World, address, decode, encode

from alliance import codec
from alliance.contracts import engine
from alliance.contracts.abi import Abi
from alliance.contracts.api import storage_prefix
from alliance.contracts.values import Address
from alliance.errors import OutOfGas
from alliance.execution.gas import GasMeter

HEADER = "from alliance.contract import public, view, ctx, storage, emit, require, revert, call, Address\n"
ALICE = address(0xA11CE)
BOB = address(0xB0B)

LOOPS = (
    HEADER
    + """
@public
def loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


@public
def squares(n: int) -> int:
    return len([i * i for i in range(n)])


@public
def repeat(n: int) -> int:
    return len("x" * n)
"""
)


def world_with(source: str, name: str = "c", init_args: list[object] | None = None) -> World:
    world = World()
    outcome = world.deploy(name, source, deployer=ALICE, init_args=init_args)
    assert outcome.ok, outcome
    return world


# --- metering --------------------------------------------------------------------------------------


def test_gas_grows_linearly_with_loop_iterations() -> None:
    world = world_with(LOOPS)
    used = {n: world.transact(ALICE, "c", "loop", [n]).gas_used for n in (0, 100, 200, 400)}
    step = used[100] - used[0]
    assert step > 100  # every iteration pays for its body
    assert used[200] - used[100] == step
    assert used[400] - used[200] == 2 * step


def test_comprehensions_pay_per_item_before_running() -> None:
    world = world_with(LOOPS)
    used = {n: world.transact(ALICE, "c", "squares", [n]).gas_used for n in (0, 1000, 2000)}
    assert used[2000] - used[1000] == used[1000] - used[0] > 1000
    outcome = world.transact(ALICE, "c", "squares", [10**8])
    assert outcome.status == "out_of_gas"
    assert outcome.gas_used == TX_GAS_MAX


def test_the_same_call_uses_the_same_gas() -> None:
    world = world_with(LOOPS)
    first = world.transact(ALICE, "c", "loop", [57])
    second = world.transact(ALICE, "c", "loop", [57])
    assert first.ok and first.gas_used == second.gas_used
    assert first.result == sum(range(57))


def test_size_charges_fire_before_allocation() -> None:
    """'x' * 10**9 and friends run out of gas without ever allocating their result."""
    sources = {
        "str": "'x' * 10 ** 9",
        "list": "[0] * 10 ** 9",
        "power": "2 ** 10 ** 9",
        "shift": "1 << 10 ** 9",
        "bytes": "bytes(10 ** 9)",
    }
    for name, expression in sources.items():
        source = HEADER + f"\n@public\ndef bomb() -> int:\n    value = {expression}\n    return 0\n"
        world = world_with(source)
        tracemalloc.start()
        try:
            outcome = world.transact(ALICE, "c", "bomb", [])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert outcome.status == "out_of_gas", name
        assert peak < 2 * 1024 * 1024, f"{name}: {peak} bytes allocated before the charge"


def test_a_charge_that_does_not_fit_leaves_the_meter_at_its_limit() -> None:
    world = world_with(LOOPS)
    outcome = world.transact(ALICE, "c", "repeat", [10**7], gas_limit=50_000)
    assert outcome.status == "out_of_gas"
    assert outcome.gas_used == 50_000
    assert world.transact(ALICE, "c", "repeat", [1000], gas_limit=50_000).result == 1000


def test_statement_gas_is_charged_by_the_engine_directly_on_the_meter() -> None:
    program = engine.load(LOOPS)
    meter = GasMeter(10_000)
    host = _BareHost({}, meter)
    program.invoke(host, "loop", encode([3]), readonly=False)
    assert 0 < meter.used < 10_000
    meter = GasMeter(meter.used - 1)
    with pytest.raises(OutOfGas):
        program.invoke(_BareHost({}, meter), "loop", encode([3]), readonly=False)
    assert meter.used == meter.limit


# --- failures --------------------------------------------------------------------------------------

BANK = (
    HEADER
    + """
@public
def deposit(amount: int) -> None:
    storage[ctx.sender] = storage.get(ctx.sender, 0) + amount


@public
def withdraw(amount: int) -> None:
    balance = storage.get(ctx.sender, 0)
    storage[ctx.sender] = balance - amount
    require(balance >= amount, f"balance {balance} is below {amount}")


@public
def refuse() -> None:
    revert("no, never")


@public
def missing() -> int:
    return storage["absent"]


@public
def divide(n: int) -> int:
    return 100 // n


@public
def raise_explicitly() -> None:
    raise ValueError("an explicit reason")


@public
def caught() -> int:
    try:
        return storage["absent"]
    except KeyError:
        return -1


@public
def bad_address() -> None:
    Address("0x123")


@view
def balance(who: Address) -> int:
    return storage.get(who, 0)
"""
)


def test_revert_fails_with_contract_error_and_the_reason() -> None:
    world = world_with(BANK)
    outcome = world.transact(ALICE, "c", "refuse", [])
    assert (outcome.status, outcome.error) == ("contract_error", "no, never")
    outcome = world.transact(ALICE, "c", "withdraw", [5])
    assert (outcome.status, outcome.error) == ("contract_error", "balance 0 is below 5")


def test_revert_undoes_nothing_by_itself_the_hosts_undo_log_does() -> None:
    program = engine.load(BANK)
    state: dict[bytes, bytes] = {}
    host = _BareHost(state, GasMeter(TX_GAS_MAX))
    with pytest.raises(Exception, match="below") as caught:
        program.invoke(host, "withdraw", encode([5]), readonly=False)
    assert getattr(caught.value, "code", None) == "contract_error"
    key = storage_prefix(host.contract) + msgspec.msgpack.encode(host.sender)
    assert decode(state[key]) == -5  # written before the require failed: still there
    world = world_with(BANK)
    assert world.transact(ALICE, "c", "withdraw", [5]).status == "contract_error"
    assert world.storage("c") == {}  # the host rolled the transaction back


def test_uncaught_exceptions_are_contract_faults_naming_type_and_line() -> None:
    world = world_with(BANK)
    missing = world.transact(ALICE, "c", "missing", [])
    assert (missing.status, missing.error) == ("contract_fault", "KeyError (line 22)")
    divided = world.transact(ALICE, "c", "divide", [0])
    assert (divided.status, divided.error) == ("contract_fault", "ZeroDivisionError (line 27)")
    explicit = world.transact(ALICE, "c", "raise_explicitly", [])
    assert (explicit.status, explicit.error) == ("contract_fault", "ValueError: an explicit reason (line 32)")
    worded = world.transact(ALICE, "c", "bad_address", [])
    assert worded.status == "contract_fault"
    assert worded.error.startswith("ValueError: an address is 40 hex digits")
    assert world.transact(ALICE, "c", "caught", []).result == -1


def test_unknown_methods_and_helpers_are_not_callable() -> None:
    source = (
        HEADER + "\ndef helper() -> int:\n    return 1\n\n@public\ndef f() -> int:\n    return helper()\n"
    )
    world = world_with(source)
    assert world.transact(ALICE, "c", "nothing", []).status == "unknown_method"
    assert world.transact(ALICE, "c", "helper", []).status == "unknown_method"
    assert world.transact(ALICE, "c", "f", []).result == 1


def test_a_return_value_of_the_wrong_type_is_invalid_value() -> None:
    source = (
        HEADER
        + "\n@public\ndef f(n: int) -> str:\n    return n\n\n@public\ndef g() -> int:\n    return 2 ** 70\n"
    )
    world = world_with(source)
    assert world.transact(ALICE, "c", "f", [1]).status == "invalid_value"
    assert world.transact(ALICE, "c", "g", []).status == "invalid_value"


# --- read-only calls ---------------------------------------------------------------------------------

VIEWS = (
    HEADER
    + """
@view
def writes() -> None:
    storage["x"] = 1


@view
def emits() -> None:
    emit("seen", n=1)


@view
def reads() -> int:
    return storage.get("x", 7)


@public
def set_x(x: int) -> None:
    storage["x"] = x


@view
def through(target: str) -> None:
    call(target, "set_x", [5])
"""
)


def test_views_cannot_write_or_emit_even_in_a_transaction() -> None:
    world = world_with(VIEWS)
    assert world.view("c", "writes", []).status == "readonly_violation"
    assert world.view("c", "emits", []).status == "readonly_violation"
    assert world.transact(ALICE, "c", "writes", []).status == "readonly_violation"
    assert world.view("c", "reads", []).result == 7


def test_a_public_method_invoked_read_only_cannot_write() -> None:
    world = world_with(VIEWS)
    assert world.view("c", "set_x", [3]).status == "readonly_violation"
    assert world.transact(ALICE, "c", "set_x", [3]).ok
    assert world.view("c", "reads", []).result == 3


def test_read_only_reaches_nested_contract_calls() -> None:
    world = world_with(VIEWS, "a")
    world.deploy("b", VIEWS, deployer=ALICE)
    outcome = world.view("a", "through", ["b"])
    assert outcome.status == "readonly_violation"
    assert world.transact(ALICE, "a", "through", ["b"]).status == "readonly_violation"  # a view, always


# --- the ABI and arguments ----------------------------------------------------------------------------

TYPED = (
    HEADER
    + """
@public
def init(owner: Address) -> None:
    storage["owner"] = owner


@public
def echo(n: int, s: str, b: bytes, flag: bool, who: Address, xs: list[int], table: dict[str, list[Address]],
         pair: tuple[int, str], many: tuple[bytes, ...]) -> tuple[int, str, bytes, bool, Address]:
    require(str(who).startswith("0x"), "who is an Address")
    return (n, s, b, flag, who)


@view
def owner() -> Address:
    return storage["owner"]
"""
)


def test_the_abi_lists_methods_kinds_and_types_and_is_a_canonical_struct() -> None:
    program = engine.load(TYPED)
    abi = program.abi
    assert [(m.name, m.kind) for m in abi.methods] == [
        ("init", "init"),
        ("echo", "public"),
        ("owner", "view"),
    ]
    echo = abi.method("echo")
    assert echo is not None
    assert [p.type for p in echo.params] == [
        "int", "str", "bytes", "bool", "Address", "list[int]", "dict[str, list[Address]]",
        "tuple[int, str]", "tuple[bytes, ...]",
    ]  # fmt: skip
    assert echo.returns == "tuple[int, str, bytes, bool, Address]"
    assert codec.decode(Abi, codec.encode(abi)) == abi


ECHO_ARGS = [7, "text", b"\x00\xff", True, address(5), [1, 2], {"k": [address(6)]}, [1, "one"], [b"a", b"b"]]


def test_arguments_are_decoded_and_type_checked() -> None:
    world = world_with(TYPED, init_args=[ALICE])
    assert world.transact(ALICE, "c", "init", [address(9)]).status == "already_initialised"
    outcome = world.transact(ALICE, "c", "echo", ECHO_ARGS)
    assert outcome.ok, outcome
    assert outcome.result == [7, "text", b"\x00\xff", True, address(5)]
    assert world.view("c", "owner", []).result == ALICE


@pytest.mark.parametrize(
    "args",
    [
        ECHO_ARGS[:-1],  # one short
        [*ECHO_ARGS, 1],  # one too many
        ["7", *ECHO_ARGS[1:]],  # a str for an int
        [True, *ECHO_ARGS[1:]],  # a bool for an int
        [*ECHO_ARGS[:3], 1, *ECHO_ARGS[4:]],  # an int for a bool
        [*ECHO_ARGS[:4], b"short", *ECHO_ARGS[5:]],  # an address of 5 bytes
        [*ECHO_ARGS[:5], ["1"], *ECHO_ARGS[6:]],  # a list of str for list[int]
        [*ECHO_ARGS[:6], {"k": [b"x"]}, *ECHO_ARGS[7:]],  # a short address in a dict
        [*ECHO_ARGS[:7], [1, 2], *ECHO_ARGS[8:]],  # tuple[int, str] given (int, int)
    ],
)
def test_wrong_arguments_are_invalid_arguments(args: list[object]) -> None:
    world = world_with(TYPED, init_args=[ALICE])
    assert world.transact(ALICE, "c", "echo", args).status == "invalid_arguments"


def test_non_canonical_or_oversized_arguments_are_invalid_arguments() -> None:
    world = world_with(TYPED, init_args=[ALICE])
    canonical = encode(ECHO_ARGS)
    assert world.transact(ALICE, "c", "echo", [], raw_args=canonical).ok
    padded = b"\xd1\x00\x07"  # 7 as int16: valid msgpack, not canonical
    non_canonical = canonical[:1] + padded + canonical[2:]
    assert decode(non_canonical) == ECHO_ARGS
    assert world.transact(ALICE, "c", "echo", [], raw_args=non_canonical).status == "invalid_arguments"
    assert world.transact(ALICE, "c", "echo", [], raw_args=b"\xc1").status == "invalid_arguments"
    huge = encode(["x" * 70_000])
    assert world.transact(ALICE, "c", "owner", [], raw_args=huge).status == "invalid_arguments"


def test_address_parses_hex_and_equals_its_bytes() -> None:
    raw = bytes(range(20))
    text = raw.hex()
    assert Address("0x" + text) == raw == Address(text) == Address(text.upper()) == Address(raw)
    assert hash(Address(raw)) == hash(raw)
    assert str(Address(raw)) == "0x" + text
    assert repr(Address(raw)) == f"Address('0x{text}')"
    for bad in ("0x" + text[:-2], text + "00", "0x" + "g" * 40, "0x" + "a " * 20, raw[:19], 5):
        with pytest.raises((ValueError, TypeError)):
            Address(bad)  # type: ignore[arg-type]


# --- isolation between calls --------------------------------------------------------------------------

CONSTANTS = (
    HEADER
    + """
SEEN = []
TABLE = {"a": [1]}
FROZEN = (1, "two", (3,))


@public
def touch(x: int) -> list[int]:
    SEEN.append(x)
    TABLE["a"].append(x)
    return [len(SEEN), len(TABLE["a"]), len(FROZEN)]


@public
def relay(target: str, x: int) -> list[int]:
    SEEN.append(x)
    inner = call(target, "touch", [x])
    return [len(SEEN)] + inner
"""
)


def test_mutable_module_constants_do_not_leak_between_calls() -> None:
    world = world_with(CONSTANTS)
    for x in range(3):
        assert world.transact(ALICE, "c", "touch", [x]).result == [1, 2, 3]


def test_the_same_code_at_two_addresses_runs_nested_with_separate_namespaces() -> None:
    world = world_with(CONSTANTS, "a")
    world.deploy("b", CONSTANTS, deployer=ALICE)
    assert world.contracts["a"].program is world.contracts["b"].program  # one compiled program
    assert world.transact(ALICE, "a", "relay", ["b", 4]).result == [1, 1, 2, 3]


# --- calls between contracts, depth, re-entrancy, init -------------------------------------------------

CALLER = (
    HEADER
    + """
@public
def forward(targets: list[str], depth: int) -> int:
    storage["entered"] = depth
    if not targets:
        return depth
    return call(targets[0], "forward", [targets[1:], depth + 1])


@public
def who() -> list[Address]:
    return [ctx.sender, ctx.contract]


@public
def ask(target: str) -> list[Address]:
    return call(target, "who", [])


@public
def down(n: int) -> int:
    if n == 0:
        return 0
    return down(n - 1) + 1


@public
def fail_after_write(target: str) -> None:
    storage["before"] = 1
    call(target, "refuse", [])


@public
def refuse() -> None:
    revert("refused downstream")
"""
)


def test_a_nested_call_acts_as_the_calling_contract() -> None:
    world = world_with(CALLER, "a")
    world.deploy("b", CALLER, deployer=ALICE)
    sender, contract = world.transact(ALICE, "a", "ask", ["b"]).result
    assert sender == world.contracts["a"].address
    assert contract == world.contracts["b"].address
    assert world.transact(ALICE, "b", "who", []).result == [ALICE, world.contracts["b"].address]


def test_re_entering_a_contract_on_the_stack_is_refused() -> None:
    world = world_with(CALLER, "a")
    world.deploy("b", CALLER, deployer=ALICE)
    assert world.transact(ALICE, "a", "forward", [["b", "a"], 0]).status == "reentrant_call"
    assert world.transact(ALICE, "a", "forward", [["a"], 0]).status == "reentrant_call"
    assert world.transact(ALICE, "a", "forward", [["b"], 0]).result == 1
    assert world.storage("a") == {msgspec.msgpack.encode("entered"): 0}


def test_depth_is_bounded_for_recursion_and_for_chains_of_contracts() -> None:
    world = world_with(CALLER, "c0")
    assert world.transact(ALICE, "c0", "down", [50]).result == 50
    assert world.transact(ALICE, "c0", "down", [70]).status == "call_depth_exceeded"
    for index in range(1, 20):
        world.deploy(f"c{index}", CALLER, deployer=ALICE)
    chain = [f"c{index}" for index in range(1, 20)]
    assert world.transact(ALICE, "c0", "forward", [chain[:10], 0]).result == 10
    assert world.transact(ALICE, "c0", "forward", [chain, 0]).status == "call_depth_exceeded"


def test_a_failing_nested_call_fails_the_whole_call() -> None:
    world = world_with(CALLER, "a")
    world.deploy("b", CALLER, deployer=ALICE)
    outcome = world.transact(ALICE, "a", "fail_after_write", ["b"])
    assert (outcome.status, outcome.error) == ("contract_error", "refused downstream")
    assert world.storage("a") == {}


def test_calls_reach_native_modules_with_canonical_arguments() -> None:
    world = world_with(CALLER, "a")
    seen: list[tuple[str, bytes, bytes]] = []

    def accounts(host: object, method: str, args: bytes) -> bytes:
        seen.append((method, args, getattr(host, "contract", b"")))
        return encode({"ok": True})

    world.natives["accounts"] = accounts
    source = (
        HEADER
        + "\n@public\ndef pay(to: Address) -> bool:\n    return call('accounts', 'transfer', [to, 5])['ok']\n"
    )
    world.deploy("payer", source, deployer=ALICE)
    assert world.transact(ALICE, "payer", "pay", [BOB]).result is True
    [(method, args, contract)] = seen
    assert method == "transfer"
    assert args == encode([BOB, 5])  # what an array_like Struct of (to, amount) encodes to
    assert contract == world.contracts["payer"].address
    assert world.transact(ALICE, "a", "ask", ["nowhere"]).status == "unknown_target"


# --- storage and events ---------------------------------------------------------------------------------

STORE = (
    HEADER
    + """
@public
def put() -> None:
    storage["s"] = "text"
    storage[("pair", ctx.sender, 7)] = (1, ctx.sender, [True, None])
    storage[b"raw"] = {"k": (1, 2)}
    storage[ctx.sender] = 1
    emit("put", zeta=1, alpha=ctx.sender, mid=[1, "x"])


@public
def read() -> list[int]:
    pair = storage[("pair", ctx.sender, 7)]
    same = 1 if pair[1] == ctx.sender else 0
    present = 1 if "s" in storage and ("nope",) not in storage else 0
    del storage["s"]
    gone = 1 if "s" not in storage else 0
    return [same, present, gone, len(storage[b"raw"]["k"]), storage.get("nope", 42)]


@public
def bad_key() -> None:
    storage[[1, 2]] = 1


@public
def big_key() -> None:
    storage["k" * 300] = 1
"""
)


def test_storage_keys_live_under_the_contract_prefix_in_canonical_bytes() -> None:
    world = world_with(STORE)
    assert world.transact(ALICE, "c", "put", []).ok
    prefix = b"c/" + world.contracts["c"].address + b"/"
    pack = msgspec.msgpack.encode
    assert set(world.state) == {
        prefix + pack("s"),
        prefix + pack(["pair", ALICE, 7]),
        prefix + pack(b"raw"),
        prefix + pack(ALICE),
    }
    assert decode(world.state[prefix + pack(["pair", ALICE, 7])]) == [1, ALICE, [True, None]]
    assert world.transact(ALICE, "c", "read", []).result == [1, 1, 1, 2, 42]


def test_events_carry_the_canonical_encoding_of_their_fields_sorted_by_name() -> None:
    world = world_with(STORE)
    outcome = world.transact(ALICE, "c", "put", [])
    [(emitter, name, data)] = outcome.events
    assert (emitter, name) == ("c", "put")
    assert list(data) == ["alpha", "mid", "zeta"]
    assert encode(data) == msgspec.msgpack.encode({"alpha": ALICE, "mid": [1, "x"], "zeta": 1})


def test_storage_keys_are_checked_and_bounded() -> None:
    world = world_with(STORE)
    assert world.transact(ALICE, "c", "bad_key", []).status == "invalid_value"
    assert world.transact(ALICE, "c", "big_key", []).status == "value_too_large"


def test_the_write_limit_counts_the_whole_call_tree() -> None:
    source = (
        HEADER
        + "\n@public\ndef fill(target: str, n: int) -> None:\n    for i in range(n):\n"
        + "        storage[i] = b'x' * 50000\n    if target:\n        call(target, 'fill', ['', n])\n"
    )
    world = world_with(source, "a")
    world.deploy("b", source, deployer=ALICE)
    assert world.transact(ALICE, "a", "fill", ["", 3]).ok
    assert world.transact(ALICE, "a", "fill", ["b", 3]).status == "write_limit_exceeded"


# --- the plain-Python module ------------------------------------------------------------------------------


def test_alliance_contract_imports_in_plain_python_and_refuses_execution_objects() -> None:
    from alliance import contract
    from alliance.contracts.errors import NotInContract

    @contract.public
    def f() -> int:
        return 1

    assert f() == 1 and f.__dict__["contract_kind"] == "public"
    assert contract.view(f).__dict__["contract_kind"] == "view"
    assert contract.Address is Address
    for use in (
        lambda: contract.ctx.sender,
        lambda: contract.storage["k"],
        lambda: contract.emit("e"),
        lambda: contract.require(True, "r"),
        lambda: contract.revert("r"),
        lambda: contract.call("t", "m", []),
    ):
        with pytest.raises(NotInContract, match="only available while a contract runs"):
            use()


class _BareHost:
    """A host with no undo log and no state charges: what the engine does by itself."""

    def __init__(self, state: dict[bytes, bytes], gas: GasMeter) -> None:
        self.state = state
        self.gas = gas
        self.sender = ALICE
        self.contract = address(0xC0)
        self.height = 1
        self.time_ms = 0

    def read(self, key: bytes) -> bytes | None:
        return self.state.get(key)

    def write(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self.state.pop(key, None)
        else:
            self.state[key] = value

    def emit(self, name: str, data: bytes) -> None:
        pass

    def call(self, target: str, method: str, args: bytes) -> bytes | None:
        return None


def test_keyword_names_do_not_collide_with_the_engines_own_parameters() -> None:
    source = (
        HEADER
        + "\n@public\ndef f() -> dict[str, int]:\n"
        + "    emit('e', name='n', inv=1, gas=2)\n"
        + "    return dict(gas=1, items=2)\n"
    )
    world = world_with(source)
    outcome = world.transact(ALICE, "c", "f", [])
    assert outcome.ok, outcome
    assert outcome.result == {"gas": 1, "items": 2}
    assert outcome.events == [("c", "e", {"gas": 2, "inv": 1, "name": "n"})]


def test_a_re_raised_python_exception_keeps_its_wording_out_of_the_receipt() -> None:
    source = (
        HEADER
        + "\n@public\ndef f(n: int) -> int:\n    try:\n        return 1 // n\n"
        + "    except ZeroDivisionError:\n        raise\n"
    )
    world = world_with(source)
    outcome = world.transact(ALICE, "c", "f", [0])
    assert (outcome.status, outcome.error) == ("contract_fault", "ZeroDivisionError (line 6)")


def test_init_cannot_run_read_only() -> None:
    program = engine.load(TYPED)
    state: dict[bytes, bytes] = {}
    with pytest.raises(Exception, match="cannot run read-only") as caught:
        program.invoke(_BareHost(state, GasMeter(TX_GAS_MAX)), "init", encode([ALICE]), readonly=True)
    assert getattr(caught.value, "code", None) == "readonly_violation"
    assert state == {}
