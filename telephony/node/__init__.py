"""An Asterisk node: root file system, configuration rendering, running it in a chroot."""
