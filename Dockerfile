# syntax=docker/dockerfile:1
# jixiao: the rules engine and its HTTP service. docs/deploy.md explains how to run it.
#
#   docker build -t jixiao .
#   docker run -p 8000:8000 -v jixiao-data:/data jixiao      # prints a one-time admin key
#   docker run -p 8000:8000 -v jixiao-data:/data jixiao serve --processes 0   # every core

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: durable-rules is a C extension built from source; the compiler stays here ------
FROM ${PYTHON_IMAGE} AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# The slow build first, in its own layer, so source changes do not rebuild it.
RUN pip install "durable-rules==2.0.28"
WORKDIR /src
COPY . .
# Not editable: the wheel carries rubrics/ and rules/ as package data (engine/_bundled/), so the
# runtime stage needs the venv alone, not the source tree.
RUN pip install ".[service]" \
 && python -m compileall -q /opt/venv/lib
# Lint every bundled rubric, from the installed copy: one that does not compile fails the build.
WORKDIR /tmp
RUN set -e; jixiao rubric lint; jixiao rubric test

# -- runtime: slim, no compiler, not root ---------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# HAProxy for `jixiao serve --processes 0`: one process per core behind it (docs/deploy.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin jixiao \
 && mkdir /data \
 && chown jixiao:jixiao /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JIXIAO_DB_PATH=/data/jixiao.db \
    JIXIAO_HOST=0.0.0.0 \
    JIXIAO_PORT=8000
# The SQLite file (and its -wal/-shm companions) live here; with PostgreSQL it stays empty.
VOLUME ["/data"]
USER jixiao
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('JIXIAO_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["jixiao"]
# One process; `docker run … jixiao serve --processes 0` runs one per core behind HAProxy.
CMD ["serve"]
