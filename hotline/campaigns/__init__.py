"""Proactive outage notices (issue #18.6): bounded outbound campaigns (docs/campaigns.md)."""
