"""The caller's whole story (客户 360): accounts, address and area, outages, past calls, work
orders, survey scores and flags (docs/customer-story.md)."""
