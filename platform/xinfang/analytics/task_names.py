"""The analytics tasks' names: senders (facts, service) name a task without importing the module that runs it."""

SETTLE = "xinfang.analytics.settle"
REFRESH = "xinfang.analytics.refresh"  # these entities' facts (facts.flags_changed)
CARD_COLOURS = "xinfang.analytics.card_colours"  # a card type's colour changed: its cards' facts (facts.refresh_card_colours)
