from robotappel.caller import Caller
from robotappel.dal import ledger
from robotappel.models.listing import TokenBalance


def get_balance(caller: Caller) -> TokenBalance:
    return TokenBalance(orgId=caller.org_id, balance=ledger.get_balance(caller.org_id))
