# syntax=docker/dockerfile:1.7
# Dalil: multi-stage, uv-based, non-root. Build: docker build -t dalil .
# Run:   docker run -p 8000:8000 -e DALIL_DATABASE_URL=... dalil           (HTTP: REST, webhooks, /metrics)
#        docker run -it dalil dalil chat                                     (console chat)
#        docker run -p 8000:8000 -e WHATSAPP_TOKEN -e WHATSAPP_PHONE_NUMBER_ID \
#          -e WHATSAPP_APP_SECRET -e WHATSAPP_VERIFY_TOKEN dalil             (WhatsApp webhook; secrets from env)

FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, so code edits don't invalidate this layer.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev --no-install-project
COPY bot/ bot/
COPY nlu/ nlu/
COPY knowledge/ knowledge/
COPY connectors/ connectors/
RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm AS runtime
RUN groupadd --system dalil && useradd --system --gid dalil --home-dir /app --shell /usr/sbin/nologin dalil
WORKDIR /app
COPY --from=build --chown=dalil:dalil /app /app
COPY --chown=dalil:dalil config.yml ./
COPY --chown=dalil:dalil data/ data/
RUN mkdir -p var models && chown dalil:dalil var models
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER dalil
# Ship a built index (SQLite default) and the trained intent model, so a container answers at once;
# with DALIL_DATABASE_URL set, the server builds the index there on first start.
RUN dalil kb build && dalil nlu train
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["dalil", "serve", "--host", "0.0.0.0", "--port", "8000"]
