# Asterisk from Debian sid (bookworm and trixie ship no asterisk package), as in the test bed.
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en-gsm \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/spool/asterisk/hotline
# /etc/asterisk is a volume rendered by `hotline asterisk config` (the config service).
CMD ["/usr/sbin/asterisk", "-f", "-n"]
