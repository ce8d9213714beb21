"""The domain's words as people read them: roles, states, channels and reasons, marked for the catalogs."""

from __future__ import annotations

from api.ui.i18n import N_

ROLE_LABELS = {
    "admin": N_("marketing department"),
    "account_manager": N_("account manager"),
    "market_manager": N_("market manager"),
    "distribution_center": N_("distribution center"),
    "auditor": N_("auditor"),
}
STATUS_LABELS = {
    "planned": N_("planned"), "open": N_("open"), "closed": N_("closed"), "published": N_("published"),
    "queued": N_("queued"), "running": N_("running"), "succeeded": N_("succeeded"), "failed": N_("failed"),
    "submitted": N_("submitted"), "pending_approval": N_("awaiting sign-off"), "approved": N_("approved"),
    "pending": N_("pending"), "rejected": N_("rejected"),
}
CHANNEL_LABELS = {"retailer_stated": N_("stated by the retailer"), "collected": N_("collected")}
REASON_LABELS = {"full": N_("full"), "no_supply": N_("no supply"), "cap": N_("cap used up"),
                 "supply": N_("supply used up")}
PRIORITY_LABELS = {"volume": N_("volume first"), "choice": N_("choice first")}
WEEKDAYS = {1: N_("Monday"), 2: N_("Tuesday"), 3: N_("Wednesday"), 4: N_("Thursday"), 5: N_("Friday"),
            6: N_("Saturday"), 7: N_("Sunday")}
BASIS_LABELS = {"forecast": N_("managers' forecasts"), "history": N_("projected from past weeks"),
                "mixed": N_("forecasts and projections")}
LABELS = {"ROLE_LABELS": ROLE_LABELS, "STATUS_LABELS": STATUS_LABELS, "CHANNEL_LABELS": CHANNEL_LABELS,
          "REASON_LABELS": REASON_LABELS, "PRIORITY_LABELS": PRIORITY_LABELS, "WEEKDAYS": WEEKDAYS,
          "BASIS_LABELS": BASIS_LABELS}
