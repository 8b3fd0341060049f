# syntax=docker/dockerfile:1
# One image for every Trellis process:
#   trellis serve --prebuilt   (the default: pages and API on port 3000)
#   trellis worker --metrics-port 9100 | trellis scheduler --metrics-port 9100 | trellis migrate
# Stage `build` installs the Python dependencies, node and bun (from the npm registry, as the Makefile
# does) and builds the frontend once; the final stage holds Python, the app and the built pages, no node.
#   docker build -t trellis .
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    REFLEX_USE_SYSTEM_BUN=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    PATH=/app/.tools/node_modules/.bin:/opt/venv/bin:$PATH
# npm only bootstraps the pinned node and bun below (Reflex's own bun download needs the open internet).
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN npm install --prefix .tools --no-audit --no-fund --loglevel=error node@22.23.3 bun@1.4.4 \
 && bun --version && node --version
# The pinned dependencies first, so a change to the code reuses this layer.
COPY pyproject.toml README.md ./
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
    > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY rxconfig.py alembic.ini ./
COPY reflex.lock reflex.lock
COPY assets assets
COPY components components
COPY migrations migrations
COPY runtime runtime
COPY builder builder
# Editable: `trellis serve` runs Reflex from the project folder (/app), found through the installed package.
RUN pip install --no-deps -e .
# The built pages open their websocket on the port they were built for (env.json), unless the browser
# reaches them over https (then the standard port is used): build for the port users type.
ARG TRELLIS_PORT=3000
# Importing the app writes a key file and a database under the data dir: a throwaway one, left here.
RUN TRELLIS_PORT=${TRELLIS_PORT} TRELLIS_DATA_DIR=/tmp/build-data reflex export --frontend-only --no-zip \
 && rm -rf .web/node_modules .tools .states uploaded_files /tmp/build-data

FROM ${PYTHON_IMAGE}
ARG TRELLIS_PORT=3000
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    TRELLIS_ENV=production \
    TRELLIS_PORT=${TRELLIS_PORT} \
    TRELLIS_DATA_DIR=/var/lib/trellis
# A fixed UID/GID (10001), so Kubernetes' runAsUser and volume ownership can name it.
RUN groupadd --system --gid 10001 trellis \
 && useradd --system --uid 10001 --gid trellis --home-dir /var/lib/trellis --no-create-home \
    --shell /usr/sbin/nologin trellis \
 && install -d -o trellis -g trellis -m 0750 /var/lib/trellis
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# The server touches a marker in .web/backend at every start: the one folder of /app it writes to.
RUN chown -R trellis:trellis /app/.web/backend
WORKDIR /app
USER 10001:10001
# 3000: pages and API (trellis serve); 9100: /metrics, /healthz, /readyz of workers and schedulers.
EXPOSE 3000 9100
# Liveness of the default command; Compose and Kubernetes set their own probes per process.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['TRELLIS_PORT'], timeout=4)"]
CMD ["trellis", "serve", "--prebuilt"]
