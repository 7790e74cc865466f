# Schemathesis hooks for `cargo xtask fuzz` (loaded through schemathesis.toml).
#
# Some requests that match the document are refused by the contract for reasons no schema
# can express: they depend on the server's state, not on the request's shape. Each is let
# through only by its exact status and message, so any other refusal still fails the run.
import json
import re

import schemathesis

REFUSED_BY_STATE = {
    # A cursor counts only if the server issued it; lists.rs tests forged and altered ones.
    (400, "cursor is not valid"),
    # The only admin is the run's own account.
    (400, "an admin cannot demote or disable their own account"),
    # Whether a webhook's host can be called depends on DNS and on which addresses are
    # public, and a host's syntax is the WHATWG URL standard's, which no pattern captures;
    # webhooks.rs and the guard's unit tests cover these refusals.
    (400, "url must point to a public address, not a loopback, private, link-local or metadata one"),
    (400, "url: its host could not be resolved"),
    (400, "url is not a valid URL"),
    # Generated creations fill the bound on webhooks.
    (400, "at most 100 webhooks may exist; delete one first"),
    # Generated repeats reuse a key with another body.
    (422, "Idempotency-Key was already used for a different request"),
}


# An order's lines are priced from the catalog as it is: whether a product exists and is on
# sale, which sku an id belongs to (so whether two lines name one product), its currency and
# its price are the server's state; order_lines.rs and the stock contract test each refusal.
LINES_REFUSED_BY_CATALOG = re.compile(
    r"lines\[\d+\]: (no such product"
    r"|\S+ is already on another line"
    r"|\S+ is priced in [A-Z]{3}, the other lines are not"
    r"|the amount is too large)$"
    r"|total: the amount is too large$"
)


def _error(response):
    try:
        return json.loads(response.content).get("error", "")
    except (ValueError, AttributeError):
        return ""


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202":
        return True
    message = _error(response)
    if (response.status_code, message) in REFUSED_BY_STATE:
        return False
    # Links schemathesis infers fill a path's `{id}` from any response field named like it,
    # a stock movement's `order_id` among them, which is null for a stock adjustment: a
    # request whose id is no positive integer is not the document's (minimum 1).
    ident = (case.path_parameters or {}).get("id")
    not_an_id = not (isinstance(ident, int) and not isinstance(ident, bool) and ident > 0)
    if response.status_code == 400 and message.endswith("id must be a positive integer") and not_an_id:
        return False
    placing = case.operation.label in ("POST /api/v1/orders", "PATCH /api/v1/orders/{id}")
    if placing and response.status_code == 400 and LINES_REFUSED_BY_CATALOG.match(message):
        return False
    # Cancelling a delivered or cancelled order ("cannot change order status from …").
    cancelling = case.operation.label == "PUT /api/v1/orders/{id}/cancel"
    if cancelling and response.status_code == 400 and message.startswith("cannot change order status from"):
        return False
    return True
