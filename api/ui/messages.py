"""Error messages by their `code`, in the page's language: the API's sentences are English for programs."""

from __future__ import annotations

from api.ui.i18n import N_

BY_CODE = {
    "unauthorized": N_("Sign in with your API token first."),
    "forbidden": N_("Your role may not open this page or do this."),
    "csrf_failed": N_("This form has expired or did not come from this console. Reload the page and try again."),
    "not_found": N_("Not found, or not one of yours."),
    "no_order": N_("This retailer has no order in this cycle: no order means no demand."),
    "invalid_request": N_("The request is malformed; check the values you entered."),
    "invalid": N_("The request is malformed; check the values you entered."),
    "invalid_cursor": N_("This page link is no longer valid; start again from the first page."),
    "invalid_quantity": N_("A quantity must be a whole number of cartons from 0 to 10,000."),
    "duplicate_spec": N_("Each spec may appear once in an order."),
    "unknown_spec": N_("A spec code is not in the brand list."),
    "too_many_lines": N_("The order has too many lines."),
    "cycle_state": N_("The cycle is not in a state that allows this now."),
    "cycle_published": N_("The cycle's allocation is published and final."),
    "cycle_name_taken": N_("A cycle of that name exists already."),
    "retailers_without_cap": N_("Some retailers have an order but no cap: set or compute their caps, then close."),
    "retailer_suspended": N_("This retailer is suspended and cannot order."),
    "version_mismatch": N_("The order changed meanwhile; reload it and try again."),
    "not_collected": N_("The retailer stated this order itself; it needs no sign-off."),
    "adjustment_exceeds_cap": N_("A retailer would give more than its cap."),
    "run_in_progress": N_("A run of this cycle is already queued or running."),
    "already_published": N_("This cycle is published already."),
    "run_not_succeeded": N_("Only a run that succeeded can be published."),
    "run_stale": N_("The cycle was closed again after this run; start a new run."),
    "not_published": N_("The cycle is not published yet."),
    "floor_or_quota_refused": N_("Caps are upper limits on a retailer's total only: no floor and no per-spec quantity "
                                 "(total-quantity floating management)."),
    "too_large": N_("The request is too large."),
    "method_not_allowed": N_("This address does not accept that kind of request."),
    "internal_error": N_("The service failed to answer; the error has been logged."),
}
FALLBACK = N_("The request was refused.")


def message(gettext, code: str) -> str:
    """The sentence for an error code in the page's language (a generic one for a code without its own)."""
    return gettext(BY_CODE.get(code, FALLBACK))
