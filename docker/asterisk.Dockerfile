# Asterisk from Debian sid (bookworm and trixie ship no asterisk package), the same packages as
# the test bed's root file system (Settings.asterisk_packages; no recommends, as debootstrap).
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en-gsm \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/spool/asterisk/hotline /usr/share/asterisk/sounds/hotline
# Mounted by docker-compose.yml:
#   /etc/asterisk                       asterisk-config/ rendered by `hotline asterisk config`
#   /var/spool/asterisk/hotline         recordings (Settings.recordings_dir_in_root)
#   /usr/share/asterisk/sounds/hotline  IVR prompts spoken by the controller (PROMPTS_IN_ROOT)
# Plain root, as the test bed runs it; -f: stay in the foreground.
CMD ["/usr/sbin/asterisk", "-f", "-n"]
