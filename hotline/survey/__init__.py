"""The post-call survey's figures and what a low answer sets going (docs/metrics.md, "Survey")."""
