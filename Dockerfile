# JPS Flow application image: the worker, the API, the simulators and the `jps` CLI share it;
# docker-compose.yml chooses the command. See README.md, "docker-compose".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JPS_ENV=production

WORKDIR /app
COPY pyproject.toml worker.py ./
COPY jps ./jps
COPY infra ./infra
COPY tools ./tools
COPY activities ./activities
COPY api ./api
COPY migrations ./migrations
COPY simulators ./simulators
COPY workflows ./workflows

RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /app jps

# /app first on the path: the source tree runs, with migrations/ beside jps/ where infra.db looks for
# it; the install provides the dependencies and the `jps` command.
ENV PYTHONPATH=/app

USER 10001
EXPOSE 8000
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
