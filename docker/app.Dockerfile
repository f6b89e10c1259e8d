# The controller (ACD, FastAGI IVR, HTTP API) and the Asterisk config renderer: one image.
# Debian packages and PyPI only, the same parts scripts/setup.sh installs on a test machine.
FROM debian:bookworm-slim
# espeak-ng and sox: `hotline run` speaks the IVR prompts at start (hotline/telephony/prompts.py);
# gcc, g++, python3-dev: the Cython kernels in core_ext/ compile at install.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev gcc g++ espeak-ng sox ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/hotline \
 && /opt/hotline/bin/pip install --no-cache-dir -q -U pip setuptools wheel cython
ENV PATH=/opt/hotline/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /app
# Only what the package needs (no .venv, no compiled objects from a developer's tree).
COPY pyproject.toml setup.py README.md ./
COPY hotline hotline
COPY telephony telephony
COPY router router
COPY realtime realtime
COPY api api
COPY core_ext core_ext
COPY asterisk-config asterisk-config
# Editable, as scripts/setup.sh does: the code finds asterisk-config/ (centre.toml, ivr.toml) next
# to its source (hotline.settings.REPO_ROOT = /app); a plain install would look in site-packages.
RUN find core_ext \( -name '*.so' -o -name '*.c' -o -name '*.cpp' \) -delete \
 && pip install --no-cache-dir -q -e . \
 && python -c "from pathlib import Path; from hotline.core_ext import select; \
      [select.load_compiled(p.stem) for p in Path('core_ext').glob('*.pyx')]" \
 && hotline --help >/dev/null
ENTRYPOINT ["hotline"]
CMD ["run"]
