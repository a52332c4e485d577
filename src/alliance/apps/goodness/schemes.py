"""What Goodness declares outside its contract: the two pass schemes and the roles it reads.

Theory of operation: ``GOOD`` is the issuer's points pass: fungible, non-transferable
(circulation ``none``), redeemable only at an account with the ``exchange`` role (redemption
burns), lots that expire 365 days after the day they were minted, minted only by accounts holding
``goodness-minter`` (the committee grants it to the contract's address, and to nothing else).
``CNY`` is the gateway's settlement money (its minter role is ``gateway``): units exist only
against deposits, in fen (1 yuan = 100 units, two decimals). Both are ordinary ``passes.create``
arguments, so the chain checks them like any scheme.
"""

from __future__ import annotations

from alliance.abi import passes as p

GOOD = "GOOD"
CNY = "CNY"
MINTER_ROLE = "goodness-minter"
POINTS_LOT_DAYS = 365
CONSENT_PURPOSE = "trips"
MODES = ("metro", "bus", "bike", "walk")

ISSUER = "issuer"
ATTESTER = "attester"
DISTRIBUTOR = "distributor"
SPONSOR = "sponsor"
EXCHANGE = "exchange"
CLEARING = "clearing"
SUPERVISOR = "supervisor"
GATEWAY = "gateway"
ROLES = (ISSUER, DISTRIBUTOR, SPONSOR, EXCHANGE, CLEARING, SUPERVISOR)

POINTS_RIGHTS = (
    "Goodness points: 100 points for 1,250 g of CO2 avoided by a low-carbon trip, as the issuer's "
    "rule table in force counts it. Not transferable; redeemable at member exchange platforms for "
    "sponsors' rewards; each lot expires 365 days after the day it was earned."
)
CNY_RIGHTS = (
    "Settlement yuan held by the gateway bank: 1 unit = 0.01 CNY (one fen), backed one for one by "
    "deposits; paid out by withdrawal."
)


def good_scheme() -> p.CreateArgs:
    return p.CreateArgs(
        symbol=GOOD,
        name="Goodness points",
        kind="fungible",
        rights=POINTS_RIGHTS,
        minter_role=MINTER_ROLE,
        eligibility="any",
        circulation="none",
        redeemer_role=EXCHANGE,
        redeem_burns=True,
        expiry="lot",
        lot_days=POINTS_LOT_DAYS,
    )


def cny_scheme() -> p.CreateArgs:
    return p.CreateArgs(
        symbol=CNY,
        name="Settlement yuan",
        kind="fungible",
        rights=CNY_RIGHTS,
        decimals=2,
        minter_role=GATEWAY,
        eligibility="any",
        circulation="free",
    )
