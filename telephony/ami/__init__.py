"""AMI: the sans-I/O codec, event mapper, call model, the link to one node, replay."""
