from robotappel.caller import CallContext
from robotappel.dal import tokens as ledger
from robotappel.models.listing import TokenBalance


def get_balance(ctx: CallContext) -> TokenBalance:
    return TokenBalance(orgId=ctx.caller.org_id, balance=ledger.get_balance(ctx.caller.org_id))
