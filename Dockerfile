# syntax=docker/dockerfile:1
# Console stage: the Vue console's static build.
FROM node:20-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console ./
RUN npm run build

# Build stage: a virtual environment with newapi and its dependencies (all wheels).
FROM python:3.11-slim AS build
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY newapi ./newapi
RUN pip install .

# Runtime stage: the venv, the migrations and the server settings; state lives in /data.
FROM python:3.11-slim
RUN useradd --create-home --uid 1000 newapi && mkdir /data && chown newapi /data
COPY --from=build /opt/venv /opt/venv
COPY migrations /app/migrations
COPY hypercorn.toml /app/hypercorn.toml
COPY --from=console /console/dist /app/console
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PORT=3000 \
    SQLITE_PATH=/data/one-api.db \
    NEWAPI_MIGRATIONS_DIR=/app/migrations \
    NEWAPI_CONSOLE_DIR=/app/console \
    HYPERCORN_CONFIG=/app/hypercorn.toml
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
USER newapi
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:%s/api/status' % os.environ.get('PORT','3000'), timeout=4)"
CMD ["newapi", "serve"]
